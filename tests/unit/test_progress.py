"""The progress bar and log lines on one terminal: a log line clears the bar's line first,
and the bar is drawn again below it, so neither overwrites the other."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
import structlog

from organiser.commands.progress import CLEAR_LINE, ProgressBar
from organiser.logs import setup


class Terminal(io.StringIO):
    """What a terminal was sent (stdout and stderr both)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """Logging set up to write to a fake terminal; put back as it was after the test."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, structlog.get_config())
    screen = Terminal()
    setup(logging.INFO, "console", environ={}, stream=screen)
    yield screen
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.configure(**saved[2])


def test_a_log_line_clears_the_bar_line_and_the_bar_comes_back_below(terminal: Terminal) -> None:
    bar = ProgressBar(file=terminal)
    bar.pass_started("reserve", 3)
    bar.record_handled("reserve", None, "done")  # type: ignore[arg-type]
    structlog.get_logger("organiser").warning("retrying", doi="10.5072/abc")
    bar.record_handled("reserve", None, "done")  # type: ignore[arg-type]
    bar.pass_finished("reserve")
    logging.getLogger("organiser").warning("after the pass")

    shown = terminal.getvalue()
    line = re.search(r"(.)\x1b\[K([^\r\n]*retrying[^\r\n]*)\n", shown)
    assert line is not None, repr(shown)
    assert line.group(1) == "\r" and CLEAR_LINE == "\r\x1b[K"
    assert "reserve" not in line.group(2) and "1/3" not in line.group(2)  # a line of its own
    after = shown[line.end() :]
    assert after.startswith("\rreserve") and "1/3" in after.split("\n")[0]  # drawn again
    assert "2/3" in after
    # the pass is over: the terminal's handler writes plainly again
    streams = [getattr(h, "stream", None) for h in logging.getLogger().handlers]
    assert terminal in streams and not [s for s in streams if type(s).__name__ == "_AboveTheBar"]
    last = shown.split("\n")[-2]
    assert "after the pass" in last and "\x1b[K" not in last


def test_no_bar_no_change_to_the_log_stream(terminal: Terminal) -> None:
    bar = ProgressBar(file=terminal)
    bar.pass_started("register", 0)  # nothing due: no bar
    structlog.get_logger("organiser").warning("quiet pass")
    bar.pass_finished("register")
    assert "\x1b[K" not in terminal.getvalue() and "quiet pass" in terminal.getvalue()
