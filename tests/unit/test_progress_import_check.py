"""The progress bars of ``import`` and ``check`` keep log lines (and import's own per-DOI
lines) above them, as the passes' bar does (:class:`organiser.commands.progress.TerminalBar`):
a line clears the bar's line first, and the bar is drawn again below it."""

from __future__ import annotations

import logging
import re

import structlog
from test_progress import Terminal, terminal  # noqa: F401  (terminal: a fixture)

from organiser.commands.check import _CheckBar
from organiser.commands.import_ import _Printer
from organiser.commands.progress import CLEAR_LINE
from organiser.storage.imported import KEPT, NEW, Outcome


def _handler_streams() -> list[object]:
    return [getattr(h, "stream", None) for h in logging.getLogger().handlers]


def _line_after_clear(shown: str, text: str) -> re.Match[str]:
    """Find the line holding ``text``, written after the bar's line was cleared."""
    found = re.search(r"\r\x1b\[K([^\r\n]*" + re.escape(text) + r"[^\r\n]*)\n", shown)
    assert found is not None, repr(shown)
    return found


def test_import_writes_its_lines_and_log_lines_above_its_bar(terminal: Terminal) -> None:  # noqa: F811
    printer = _Printer(as_json=False, dry_run=False, bar=True, file=terminal)
    printer.started(4)
    assert not [s for s in _handler_streams() if s is terminal]  # routed above the bar
    printer.page_done(
        [
            Outcome("10.5072/a", "urn:a::1.0", NEW, "registered", "findable"),
            Outcome("10.5072/b", "urn:b::1.0", KEPT, "to-be-registered", "draft", "waiting"),
        ]
    )
    structlog.get_logger("organiser").warning("page retried", page=2)
    printer.page_done([Outcome("10.5072/c", "urn:c::1.0", NEW, "reserved", "draft")])
    printer.close()

    shown = terminal.getvalue()
    kept = _line_after_clear(shown, "10.5072/b")
    assert kept.group(1) == "kept\t10.5072/b\turn:b::1.0\twaiting"  # a line of its own
    assert "10.5072/a" not in shown and "10.5072/c" not in shown  # imported: not listed
    logged = _line_after_clear(shown, "page retried")
    assert "import" not in logged.group(1) and "2/4" not in logged.group(1)
    assert logged.start() > kept.start()
    redrawn = shown[logged.end() :].split("\n")[0]
    assert redrawn.startswith("\rimport") and "2/4" in redrawn  # the bar, below the log line
    assert "3/4" in shown[logged.end() :]
    assert terminal in _handler_streams()  # closed: the handler has its stream back
    assert CLEAR_LINE == "\r\x1b[K"


def test_import_bar_grows_with_the_next_account(terminal: Terminal) -> None:  # noqa: F811
    printer = _Printer(as_json=False, dry_run=False, bar=True, file=terminal)
    printer.started(2)
    printer.page_done([Outcome("10.5072/a", "urn:a::1.0", NEW, "registered", "findable")])
    printer.started(3)  # the second account's listing
    printer.page_done([Outcome("10.5072/b", "urn:b::1.0", NEW, "registered", "findable")])
    printer.close()
    assert "2/5" in terminal.getvalue()


def test_import_without_a_bar_prints_plainly(terminal: Terminal) -> None:  # noqa: F811
    printer = _Printer(as_json=False, dry_run=True, bar=False, file=terminal)
    printer.started(1)
    printer.page_done([Outcome("10.5072/a", "urn:a::1.0", NEW, "registered", "findable")])
    printer.close()
    assert terminal.getvalue() == "would import\t10.5072/a\turn:a::1.0\tregistered\n"
    assert terminal in _handler_streams()


def test_check_writes_log_lines_above_its_bar(terminal: Terminal) -> None:  # noqa: F811
    bar = _CheckBar(True, file=terminal)
    bar.progress(0, None)  # the listing's size not known yet: no bar
    assert terminal.getvalue() == "" and terminal in _handler_streams()
    bar.progress(3, 10)
    structlog.get_logger("organiser").warning("listing retried", attempt=2)
    bar.progress(10, 12)  # the next account's listing makes it longer
    bar.close()

    shown = terminal.getvalue()
    logged = _line_after_clear(shown, "listing retried")
    assert "check" not in logged.group(1) and "3/10" not in logged.group(1)
    redrawn = shown[logged.end() :].split("\n")[0]
    assert redrawn.startswith("\rcheck") and "3/10" in redrawn
    assert "10/12" in shown[logged.end() :]
    assert terminal in _handler_streams()
    logging.getLogger("organiser").warning("after the check")
    assert "\x1b[K" not in terminal.getvalue().split("\n")[-2]


def test_check_without_a_terminal_shows_no_bar(terminal: Terminal) -> None:  # noqa: F811
    bar = _CheckBar(False, file=terminal)
    bar.progress(3, 10)
    bar.close()
    assert terminal.getvalue() == "" and terminal in _handler_streams()
