"""The organiser's errors: one base class, and what each kind means for the exit code.

- :class:`UserError` (exit 2): bad configuration, input, database path or request; the
  message is one line per problem, for the user, and nothing was changed.
- :class:`Unavailable` (exit 75): something the run needs is not there right now (DataCite,
  the database server, the run lock); nothing was lost and the next run carries on.
- :class:`Interrupted` (exit 130): the run was stopped by a signal; the record in flight was
  finished or left untouched and every claim released.
- Remote errors (:mod:`organiser.datacite.errors`) are per record and end up in the report.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


class OrganiserError(Exception):
    """Base of every error the organiser raises on purpose; ``str()`` never holds a secret."""

    exit_code = EXIT_FAILED


class UserError(OrganiserError, ValueError):
    """Something the user gave (configuration, input, an ID) cannot be used; exit 2."""

    exit_code = EXIT_USAGE


class Unavailable(OrganiserError):
    """Something the run needs is unreachable or busy right now; exit 75 (EX_TEMPFAIL)."""

    exit_code = EXIT_UNAVAILABLE


class Outage(Unavailable):
    """DataCite cannot be worked with at all (unreachable, credentials refused, wrong
    endpoint); the run stops and records not finished keep their state."""


class Interrupted(OrganiserError):
    """The run was asked to stop (SIGTERM, SIGINT); ``str()`` names the signal."""

    exit_code = EXIT_INTERRUPTED
