"""A DataCite REST API stand-in for tests, the demo and benchmarks: ``server`` (HTTP),
``state`` (DataCite's rules for ``/dois``), ``listing`` (``GET /dois``, an account's DOIs)."""

from organiser.standin.server import DataCite, Faults, Seen, StandinServer

__all__ = ["DataCite", "Faults", "Seen", "StandinServer"]
