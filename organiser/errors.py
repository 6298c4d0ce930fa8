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

import signal

#: The exit codes of every organiser command (the only place they are defined).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 75
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug; the traceback goes to the log
EXIT_INTERRUPTED = 128 + signal.SIGINT.value  # 130; SIGTERM gives 143 (see signal_exit_code)
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE.value  # 141: the reader of the output went away
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: What each exit code means, for ``organiser --help``.
EXIT_CODES = (
    (f"{EXIT_OK}", "all done or nothing to do"),
    (f"{EXIT_FAILED}", "some records failed (they are retried later)"),
    (f"{EXIT_USAGE}", "usage, configuration or input error (nothing changed)"),
    (f"{EXIT_INTERNAL}", "internal error"),
    (
        f"{EXIT_UNAVAILABLE}",
        "DataCite or the database unreachable, or another run holds the lock (nothing lost)",
    ),
    (
        "/".join(str(128 + s.value) for s in reversed(STOP_SIGNALS)),
        "interrupted by SIGINT/SIGTERM",
    ),
)


def signal_exit_code(reason: str) -> int:
    """Give the shell's code for a run stopped by the signal named in ``reason`` (a stop
    reason such as ``"SIGTERM"``): 128 + its number, SIGINT's when none is named."""
    for sig in STOP_SIGNALS:
        if sig.name in reason:
            return 128 + sig.value
    return EXIT_INTERRUPTED


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
