"""Intake: reading and checking metadata sources for marking. Never talks to DataCite, and
nothing in :mod:`organiser.engine` imports it."""

from organiser.intake.model import LOCAL_ID_PREFIX, InputError, Metadata, Options
from organiser.intake.reading import read, read_all

__all__ = ["LOCAL_ID_PREFIX", "InputError", "Metadata", "Options", "read", "read_all"]
