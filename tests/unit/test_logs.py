"""The log scrubber: no password of a URL reaches a log line, plain or percent-encoded. The
journal: found by device and inode, every line with the priority of what it reports."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import structlog

from organiser.logs import Scrubber, journal_stream, prefixed, say, setup, severity


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (
            'POST /dois?url=https://user:pa55@pds.nasa.gov/x HTTP/1.1" 400',
            'POST /dois?url=https://user:***@pds.nasa.gov/x HTTP/1.1" 400',
        ),
        (
            "POST /dois?url=https%3A%2F%2Fuser%3Apa55%40pds.nasa.gov%2Fx",
            "POST /dois?url=https%3A%2F%2Fuser%3A***%40pds.nasa.gov%2Fx",
        ),
        ("postgresql://org:secret@127.0.0.1:5432/db", "postgresql://org:***@127.0.0.1:5432/db"),
        ("http://127.0.0.1:8080/path at 10:05:01", "http://127.0.0.1:8080/path at 10:05:01"),
    ],
)
def test_url_passwords_are_masked(line: str, logged: str) -> None:
    assert Scrubber([]).text(line) == logged


def test_known_secrets_are_masked_in_every_field() -> None:
    event = Scrubber(["s3cret"])(None, "info", {"event": "x s3cret", "password": "p"})
    assert event == {"event": "x ***", "password": "***"}


# --- the journal: detection, severity, prefixes ------------------------------------------


def _stream_id(stream: IO[Any]) -> str:
    found = os.fstat(stream.fileno())
    return f"{found.st_dev}:{found.st_ino}"


def test_the_journal_is_the_stream_journal_stream_names(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        assert journal_stream({"JOURNAL_STREAM": _stream_id(a)}, a)
        assert not journal_stream({"JOURNAL_STREAM": _stream_id(a)}, b)  # inherited, redirected
        assert not journal_stream({}, a)
        assert not journal_stream({"JOURNAL_STREAM": "garbage"}, a)
        assert not journal_stream({"JOURNAL_STREAM": _stream_id(a)}, io.StringIO())  # no fd


@pytest.mark.parametrize(
    ("event", "level"),
    [
        ({"event": "record", "level": "info", "outcome": "done"}, "info"),
        ({"event": "record", "level": "info", "outcome": "superseded"}, "info"),
        ({"event": "record", "level": "info", "outcome": "failed"}, "error"),
        ({"event": "record", "level": "info", "outcome": "deferred"}, "warning"),
        ({"event": "failed", "level": "info", "transient": False}, "error"),
        ({"event": "failed", "level": "info", "transient": True}, "warning"),
        ({"event": "run stopped", "level": "info"}, "error"),
        ({"event": "retrying", "level": "info"}, "info"),
        ({"event": "internal error", "level": "error"}, "error"),
        ({"event": "anything", "level": "debug"}, "debug"),
    ],
)
def test_an_event_is_shown_at_the_severity_of_what_it_reports(
    event: dict[str, Any], level: str
) -> None:
    assert severity(event) == level


def test_each_line_of_a_journal_entry_gets_the_prefix() -> None:
    assert prefixed("one\ntwo", "warning") == "<4>one\n<4>two"
    assert prefixed("x", "debug") == "<7>x"


def test_say_prefixes_only_on_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "err").open("w") as err:
        monkeypatch.setenv("JOURNAL_STREAM", _stream_id(err))
        say("error: one\nerror: two", "error", err)
        say("warning: three", "warning", err)
    with (tmp_path / "other").open("w") as other:
        say("error: four", "error", other)  # JOURNAL_STREAM names another file
    assert (tmp_path / "err").read_bytes() == b"<3>error: one\n<3>error: two\n<4>warning: three\n"
    assert (tmp_path / "other").read_bytes() == b"error: four\n"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the process's logging and structlog back as they were after the test."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, structlog.get_config())
    yield
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.configure(**saved[2])


@pytest.mark.usefixtures("restored_logging")
def test_journal_lines_are_event_then_key_values_with_the_traceback_prefixed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal"
    with path.open("w") as err:
        journal = {"JOURNAL_STREAM": _stream_id(err)}
        setup(logging.DEBUG, "auto", "", ["s3cret"], journal, stream=err)
        log = structlog.get_logger("organiser")
        log.debug("looking", doi="10.5072/x")
        log.info("record", doi="10.5072/x", outcome="failed", error="pw s3cret here")
        try:
            raise ValueError("boom")
        except ValueError:
            log.error("internal error", exc_info=True)
        logging.getLogger("urllib3").warning("connection pool is full")
    lines = path.read_text().splitlines()
    assert lines[0] == "<7>looking doi=10.5072/x logger=organiser"
    assert lines[1] == '<3>record doi=10.5072/x outcome=failed error="pw *** here" logger=organiser'
    assert lines[2] == "<3>internal error logger=organiser"
    trace = [line for line in lines[3:] if not line.startswith("<4>connection pool")]
    assert trace[0] == "<3>Traceback (most recent call last):"
    assert trace[-1] == "<3>ValueError: boom"
    assert all(line.startswith("<3>") for line in trace)
    assert lines[-1] == "<4>connection pool is full logger=urllib3"
