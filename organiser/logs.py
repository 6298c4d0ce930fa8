"""Logging, configured once per process: structlog for the organiser's own events and the
standard library's loggers (urllib3, peewee, apscheduler) through the same renderer.

Two phases: :func:`setup` first runs before the configuration is read (so that its errors
are shown), then again with ``[logging]`` and the secrets to scrub. Console output is one
line per event with no tracebacks (a cron mail stays readable); JSON output (the log file)
carries the traceback in its ``exception`` field.

When stderr is the journal (``JOURNAL_STREAM`` names its device and inode, systemd.exec(5)),
every line starts with its sd-daemon(3) priority, ``<3>`` error, ``<4>`` warning, ``<6>``
info, ``<7>`` debug, which journald takes as the entry's priority: ``format = auto`` is
then ``<6>record doi=… action=reserve outcome=done attempt=1 ms=52`` (the journal keeps the
time and the priority itself), and the command's own lines (``error: …``) go through
:func:`say` with the same prefixes, so the stream carries one format. A record's line is
info when it is done and error (needs a fix) or warning (tried again) when it failed; an
outage is an error.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

import click

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
MASK = "***"


#: sd-daemon(3) priorities of the log levels (syslog's numbers).
PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}
_RANK = {"debug": 0, "info": 1, "warning": 2, "error": 3, "critical": 4}
#: The severity of a record's line by its outcome (``done``, ``superseded``: info).
OUTCOME_LEVEL = {"failed": "error", "deferred": "warning"}


def journal_stream(environ: Mapping[str, str], stream: IO[Any] | None = None) -> bool:
    """Tell whether ``stream`` (default: stderr) is connected to the journal: systemd sets
    ``JOURNAL_STREAM`` to ``DEVICE:INODE`` of that connection, and a child whose stderr was
    redirected inherits the variable, so it is compared with the stream's own (as
    systemd.exec(5) says to). False for a stream without a file descriptor."""
    value = environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        device, inode = (int(part) for part in value.split(":"))
        found = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):  # io.UnsupportedOperation is both
        return False
    return (found.st_dev, found.st_ino) == (device, inode)


def under_systemd(environ: Mapping[str, str], stream: IO[Any] | None = None) -> bool:
    """Tell whether stderr (or ``stream``) goes to the journal: :func:`journal_stream`."""
    return journal_stream(environ, stream)


def choose_level(
    level: str, quiet: bool, verbose: bool, daemon: bool, environ: Mapping[str, str]
) -> int:
    """Give the logging level: ``-q``/``-v`` win, then ``[logging] level``; ``auto`` is info
    when stderr is the journal and in the daemon, warning otherwise."""
    if quiet:
        return logging.ERROR
    if verbose:
        return logging.DEBUG if level == "debug" else logging.INFO
    if level == "auto":
        return logging.INFO if daemon or under_systemd(environ) else logging.WARNING
    return LEVELS[level]


def severity(event: Mapping[str, Any]) -> str:
    """Give the level an event is shown at: its own, raised for what it reports, a record
    that failed (error if it needs a fix, warning if it is tried again) and an outage
    (error)."""
    level = str(event.get("level", "info"))
    name = event.get("event")
    raised = None
    if name == "record":
        raised = OUTCOME_LEVEL.get(str(event.get("outcome")))
    elif name == "failed":
        raised = "warning" if event.get("transient") else "error"
    elif name == "run stopped":  # the engine's word for an outage
        raised = "error"
    if raised is not None and _RANK[raised] > _RANK.get(level, 1):
        return raised
    return level


def _raise_level(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    event["level"] = severity(event)
    return event


def prefixed(text: str, level: str) -> str:
    """Give ``text`` with each line starting with the sd-daemon(3) prefix of ``level``."""
    mark = f"<{PRIORITY.get(level, 6)}>"
    return "\n".join(mark + line for line in text.split("\n"))


def say(message: str, level: str = "error", stream: IO[Any] | None = None) -> None:
    """Write one of the command's own lines (``error: …``, ``warning: …``) to stderr (or
    ``stream``), with its priority prefix when that is the journal (one format per
    stream); ``level`` is ``error``, ``warning`` or ``info``. Every line a command writes to
    stderr itself goes through here (tests/unit/test_one_stderr_writer.py checks)."""
    if journal_stream(os.environ, sys.stderr if stream is None else stream):
        message = prefixed(message, level)
    click.echo(message, file=stream, err=stream is None)


def _logfmt_line(logfmt: Callable[..., str]) -> Callable[..., str]:
    """Give a renderer of ``event key=value …`` for the journal (it keeps the time and the
    priority itself); a traceback follows on lines of its own."""

    def render(logger: Any, name: str, event: dict[str, Any]) -> str:
        event = dict(event)
        for key in ("level", "timestamp"):
            event.pop(key, None)
        trace = event.pop("exception", None)
        message = str(event.pop("event", ""))
        rest = logfmt(logger, name, event)
        line = f"{message} {rest}" if rest else message
        return f"{line}\n{trace.rstrip()}" if trace else line

    return render


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
    stream: IO[Any] | None = None,
) -> None:
    """(Re)configure logging for the whole process: ``stream`` (default stderr) in ``fmt``
    (auto, console, json), with priority prefixes when it is the journal, and, if ``file``
    is set, JSON lines appended to it. Raises ``OSError`` if ``file`` cannot be opened."""
    import structlog  # here, not at the top: a command that logs nothing starts without it

    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    scrub = Scrubber(secrets)
    journal = journal_stream(environ, stream)
    shared: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]

    def render(renderer: Any, prefix: bool = False) -> Any:
        def final(logger: Any, name: str, event: dict[str, Any]) -> str:
            text = scrub.text(renderer(logger, name, event))
            return prefixed(text, event.get("level", "info")) if prefix else text

        return final

    head = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, _raise_level]
    json_chain = [
        *head,
        _drop_console_key,
        structlog.processors.format_exc_info,
        scrub,
        render(structlog.processors.JSONRenderer(ensure_ascii=False)),
    ]
    console_chain = [
        *head,
        scrub,
        _drop_traceback,
        render(structlog.dev.ConsoleRenderer(colors=False, exception_formatter=lambda *_: None)),
    ]
    if journal:
        body = (
            structlog.processors.JSONRenderer(ensure_ascii=False)
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=lambda *_: None)
            if fmt == "console"
            else _logfmt_line(structlog.processors.LogfmtRenderer(bool_as_flag=False))
        )
        stream_chain = [
            *head,
            _drop_console_key,
            structlog.processors.format_exc_info,
            scrub,
            render(body, prefix=True),
        ]
    else:
        stream_chain = json_chain if fmt == "json" else console_chain
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(stream)
    console.addFilter(_for_console)
    console.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=stream_chain, foreign_pre_chain=shared)
    )
    handlers.append(console)
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
    """Tell whether a traceback logged now lands somewhere other than the console: a log
    file, JSON lines, or the journal."""
    return bool(file) or fmt == "json" or under_systemd(environ)
