"""On a terminal, ``import`` and ``check`` show a progress bar, and a log line written while
it is shown (here ``retrying``, with ``-v``) clears the bar's line first and the bar is drawn
again below it. The command runs as a process on a pseudo-terminal (stdout and stderr both,
as in an operator's shell); the test reads every byte the terminal was sent."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess

import pytest
from test_import import preload

from conftest import ORGANISER, Env

#: A log line written over the bar's cleared line: ``\r\x1b[K`` then the line.
ABOVE = re.compile(rb"\r\x1b\[K([^\r\n]*retrying[^\r\n]*)\r?\n")


def _on_terminal(env: Env, *args: str) -> tuple[int, bytes]:
    """Run ``organiser *args`` with stdout and stderr on a pseudo-terminal; give its exit
    code and what the terminal was sent."""
    main, side = pty.openpty()
    process = subprocess.Popen(
        [str(ORGANISER), *args],
        stdin=subprocess.DEVNULL,
        stdout=side,
        stderr=side,
        env=env.environment({"COLUMNS": "100"}),
    )
    os.close(side)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 120)
            assert ready, "the command wrote nothing for 120 s"
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the command ended and the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    return process.wait(timeout=60), shown


def _assert_above_the_bar(shown: bytes, label: bytes, done: bytes) -> None:
    found = ABOVE.search(shown)
    assert found is not None, shown[-2000:]
    assert label not in found.group(1) and b"[#" not in found.group(1)  # a line of its own
    assert re.search(rb"\[\S*\s*\]", shown[: found.start()])  # the bar was shown before it
    after = shown[found.end() :].split(b"\n")[0]
    assert after.startswith(b"\r" + label) and done in after  # and drawn again below it


@pytest.mark.slow
def test_import_on_a_terminal_keeps_log_lines_above_its_bar(env: Env) -> None:
    preload(env.server.datacite, 600)
    env.write_config(datacite={"retries": "2"})
    env.faults(outage_after=2)  # two pages answered, then every connection refused

    code, shown = _on_terminal(env, "-v", "import", "--page-size", "200")

    assert code == 75, shown[-2000:]
    _assert_above_the_bar(shown, b"import", b"400/600")
    assert b"error: import stopped, the pages imported so far are written" in shown
    assert len(env.records()) == 400


@pytest.mark.slow
def test_check_on_a_terminal_keeps_log_lines_above_its_bar(env: Env) -> None:
    preload(env.server.datacite, 1100)  # two listing pages of 1,000
    imported = env.run("import")
    assert imported.returncode == 0, imported.stderr
    env.write_config(datacite={"retries": "2"})
    env.faults(outage_after=1)  # the first page answered, then every connection refused

    code, shown = _on_terminal(env, "-v", "check")

    assert code == 75, shown[-2000:]
    _assert_above_the_bar(shown, b"check", b"/1100")
    assert b"DataCite unreachable" in shown
