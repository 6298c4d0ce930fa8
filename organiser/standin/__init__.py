"""A DataCite REST API stand-in for tests, the demo and benchmarks (see ``server``)."""

from organiser.standin.server import DataCite, Faults, Seen, StandinServer

__all__ = ["DataCite", "Faults", "Seen", "StandinServer"]
