"""Logging, configured once per process: structlog for the organiser's own events and the
standard library's loggers (urllib3, peewee, apscheduler) through the same renderer.

Two phases: :func:`setup` first runs before the configuration is read (so that its errors
are shown), then again with ``[logging]`` and the secrets to scrub. Console output is one
line per event with no tracebacks (a cron mail stays readable); JSON output (journald, the
log file) carries the traceback in its ``exception`` field.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
MASK = "***"


def under_systemd(environ: Mapping[str, str]) -> bool:
    """Tell whether stderr goes to the journal (systemd sets ``JOURNAL_STREAM``)."""
    return bool(environ.get("JOURNAL_STREAM"))


def choose_level(
    level: str, quiet: bool, verbose: bool, daemon: bool, environ: Mapping[str, str]
) -> int:
    """Give the logging level: ``-q``/``-v`` win, then ``[logging] level``; ``auto`` is info
    under systemd and in the daemon, warning otherwise."""
    if quiet:
        return logging.ERROR
    if verbose:
        return logging.DEBUG if level == "debug" else logging.INFO
    if level == "auto":
        return logging.INFO if daemon or under_systemd(environ) else logging.WARNING
    return LEVELS[level]


#: ``scheme://user:PASSWORD@`` in plain or percent-encoded form (``%3A%2F%2F`` … ``%40``)
_URL_PASSWORD = re.compile(r"((?://|%2F%2F)[^\s/@:%]*(?::|%3A))[^\s/@]+?(@|%40)", re.IGNORECASE)


class Scrubber:
    """Replaces every known secret, and any ``Authorization`` value, by ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        """Give ``value`` with the secrets masked, and the password of any URL in it (also
        percent-encoded, as in a logged query string)."""
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return _URL_PASSWORD.sub(rf"\1{MASK}\2", value)

    def __call__(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in list(event.items()):
            if key.lower() in ("authorization", "password"):
                event[key] = MASK
            elif isinstance(value, str):
                event[key] = self.text(value)
        return event


def _drop_console_key(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    event.pop("console", None)
    return event


def _for_console(record: logging.LogRecord) -> bool:
    """Keep events logged with ``console=False`` (a traceback meant for the log file) off
    the console."""
    return not (isinstance(record.msg, dict) and record.msg.get("console") is False)


def _drop_traceback(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Keep console lines to one: the exception's own message instead of its traceback."""
    info = event.pop("exc_info", None)
    event.pop("exception", None)
    if info:
        error = sys.exc_info()[1] if info is True else info[1] if isinstance(info, tuple) else info
        if error is not None:
            event["error"] = f"{type(error).__name__}: {error}"
    return event


def setup(
    level: int = logging.WARNING,
    fmt: str = "auto",
    file: str = "",
    secrets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> None:
    """(Re)configure logging for the whole process: stderr in ``fmt`` (auto, console, json)
    and, if ``file`` is set, JSON lines appended to it. Raises ``OSError`` if ``file`` cannot
    be opened."""
    import structlog  # here, not at the top: a command that logs nothing starts without it

    environ = os.environ if environ is None else environ
    scrub = Scrubber(secrets)
    as_json = fmt == "json" or (fmt == "auto" and under_systemd(environ))
    shared: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]

    def render(renderer: Any) -> Any:
        def final(logger: Any, name: str, event: dict[str, Any]) -> str:
            return scrub.text(renderer(logger, name, event))

        return final

    json_chain = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        _drop_console_key,
        structlog.processors.format_exc_info,
        scrub,
        render(structlog.processors.JSONRenderer(ensure_ascii=False)),
    ]
    console_chain = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        scrub,
        _drop_traceback,
        render(structlog.dev.ConsoleRenderer(colors=False, exception_formatter=lambda *_: None)),
    ]
    handlers: list[logging.Handler] = []
    stderr = logging.StreamHandler(sys.stderr)
    stderr.addFilter(_for_console)
    stderr.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=json_chain if as_json else console_chain, foreign_pre_chain=shared
        )
    )
    handlers.append(stderr)
    if file:
        handler = logging.FileHandler(file, encoding="utf-8")
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(processors=json_chain, foreign_pre_chain=shared)
        )
        handlers.append(handler)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    # the libraries' chatter below warning is rarely what an operator wants, even with -v
    for noisy in ("urllib3", "peewee", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def has_traceback_sink(fmt: str, file: str, environ: Mapping[str, str]) -> bool:
    """Tell whether a traceback logged now lands somewhere other than the console."""
    return bool(file) or fmt == "json" or (fmt == "auto" and under_systemd(environ))
