"""The log scrubber: no password of a URL reaches a log line, plain or percent-encoded."""

from __future__ import annotations

import pytest

from organiser.logs import Scrubber


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
