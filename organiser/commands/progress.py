"""How a run shows itself on the command line: its summary and exit code, and a progress bar
per pass on a terminal (:class:`TerminalBar`, also import's and check's bar, keeps log lines
above it)."""

from __future__ import annotations

import logging
import threading
from typing import IO, Any

import click

from organiser import logs
from organiser.actions.run import RunOutcome
from organiser.engine.passes import Observer
from organiser.errors import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, signal_exit_code
from organiser.storage.models import Record


def outcome(run: RunOutcome, quiet: bool, push: bool = False) -> int:
    """Print a run's failures (stderr), pass summaries (unless ``quiet``; for a ``push`` only
    the passes that met the record) and why it was cut short; give its exit code."""
    result = run.result
    for failure in result.failures:  # warning priority in the journal: tried again anyway
        logs.say(
            f"error: {failure.pass_name} {failure.doi} ({failure.identifier}): {failure.error}",
            "warning" if failure.transient else "error",
        )
    if not quiet:
        shown = result.passes
        if push:
            met = [c for c in shown if c.done or c.failed or c.skipped]
            shown = met or shown[-1:]
        for counts in shown:
            click.echo(counts.summary())
    if run.alert_warning:
        logs.say(f"warning: {run.alert_warning}", "warning")
    if result.interrupted:
        logs.say(
            f"interrupted by {result.interrupted}: the record in flight was finished or left "
            "as it was, claims released; the rest waits for the next run",
            "warning",
        )
        return signal_exit_code(result.interrupted)
    if result.outage:
        logs.say(f"error: run stopped, records not yet sent keep their state: {result.outage}")
        return EXIT_UNAVAILABLE
    return EXIT_FAILED if result.failures else EXIT_OK


#: Back to the start of the terminal's line and clear it (ECMA-48 EL).
CLEAR_LINE = "\r\x1b[K"


class _AboveTheBar:
    """The stream of a log handler while a bar is shown on the same terminal: each log line
    first clears the bar's line, and the bar is drawn again below it."""

    def __init__(self, stream: IO[str], bar: TerminalBar) -> None:
        self.stream, self.bar = stream, bar

    def write(self, text: str) -> int:
        self.bar.above(text, self.stream)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _terminal_handlers() -> list[logging.StreamHandler]:
    """Give the root logger's handlers that write to a terminal (not to a file)."""
    found = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            isatty = getattr(handler.stream, "isatty", None)
            if isatty is not None and isatty():
                found.append(handler)
    return found


class TerminalBar:
    """A progress bar on the terminal (``file``: stdout unless given), shown from its
    making until :meth:`close`. Meanwhile log lines to the terminal, and the command's own
    lines given to :meth:`above`, are written above it, not over it. Safe to use from
    several threads."""

    def __init__(self, length: int, label: str, file: IO[str] | None = None) -> None:
        self._bar: Any = click.progressbar(
            length=length, label=f"{label:<8}", show_pos=True, file=file
        )
        self._bar.__enter__()
        isatty = getattr(self._bar.file, "isatty", None)
        self._drawn = bool(isatty is not None and isatty())  # else click prints its label once
        self._lock = threading.RLock()
        self._streams: list[tuple[logging.StreamHandler, IO[str]]] = []
        for handler in _terminal_handlers():
            self._streams.append((handler, handler.stream))
            handler.setStream(_AboveTheBar(handler.stream, self))

    @property
    def pos(self) -> int:
        """Give how many steps are done."""
        return int(self._bar.pos)

    @property
    def length(self) -> int:
        """Give how many steps the bar has."""
        return int(self._bar.length)

    def lengthen(self, length: int) -> None:
        """Make the bar ``length`` steps long (e.g. the next account's listing), never
        shorter than it is."""
        with self._lock:
            self._bar.length = max(self._bar.length, length)

    def advance(self, steps: int = 1) -> None:
        """Move the bar ``steps`` on and draw it again."""
        with self._lock:
            self._bar.update(steps)

    def above(self, text: str, stream: IO[str] | None = None) -> None:
        """Write ``text`` (its own line ends) to ``stream`` (default: the bar's own file)
        above the bar: the bar's line is cleared first and the bar drawn again below."""
        with self._lock:
            out = self._bar.file if stream is None else stream
            out.write(CLEAR_LINE + text)
            out.flush()
            if self._drawn:
                self._bar.file.write("\r" + self._bar.format_progress_line())
                self._bar.file.flush()

    def close(self) -> None:
        """End the bar (its line stays) and give the log handlers their stream back."""
        with self._lock:
            self._bar.__exit__(None, None, None)
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams.clear()


class ProgressBar(Observer):
    """A progress bar per pass on the terminal (``file``: stdout unless given). While a bar
    is shown, log lines to the terminal are written above it, not over it."""

    def __init__(self, file: IO[str] | None = None) -> None:
        self._bar: TerminalBar | None = None
        self._file = file

    def pass_started(self, name: str, due: int) -> None:
        if due:
            self._bar = TerminalBar(due, name, self._file)

    def record_handled(self, name: str, record: Record, outcome: str) -> None:
        if self._bar is not None:
            self._bar.advance(1)

    def pass_finished(self, name: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
