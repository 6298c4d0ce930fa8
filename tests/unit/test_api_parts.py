"""Parts of the web API that need no server: which URLs may be fetched (no connection made),
the labels payload as intake reads it, tokens stored as hashes, the ``[api] url_hosts``
parser."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from organiser import config_parsers
from organiser.api.urls import UrlRefused, check
from organiser.intake.formats import spreadsheet
from organiser.storage import tokens
from organiser.storage.database import open_database
from organiser.storage.models import Token

ALLOWED = ("pds.nasa.gov", "127.0.0.2", "localhost")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1/x.xml", "host 127.0.0.1 is not in [api] url_hosts"),
        ("http://[::1]/x.xml", "host ::1 is not in [api] url_hosts"),
        ("http://[::ffff:127.0.0.1]/x.xml", "host 127.0.0.1 is not in [api] url_hosts"),
        ("http://10.1.2.3/x.xml", "host 10.1.2.3 is not in [api] url_hosts"),
        ("http://169.254.169.254/latest/meta-data", "host 169.254.169.254 is not in"),
        ("http://PDS.nasa.gov.evil.example/x.xml", "host pds.nasa.gov.evil.example is not in"),
        ("http://localhost/x.xml", "resolves to"),  # listed by name, but a loopback address
        ("file:///etc/passwd", "only http:// and https:// URLs are read"),
        ("gopher://pds.nasa.gov/x", "only http:// and https:// URLs are read"),
        ("http://a:b@pds.nasa.gov/x", "a URL with a user or password is not fetched"),
        ("http:///x.xml", "no host"),
        ("http://pds.nasa.gov:99999/x", "not a valid port"),
    ],
)
def test_urls_outside_url_hosts_are_refused(url: str, problem: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check(url, ALLOWED)
    assert problem in str(refused.value)
    assert str(refused.value).startswith(url)


def test_an_address_listed_in_url_hosts_is_allowed() -> None:
    check("http://127.0.0.2:8000/label.xml", ALLOWED)
    check("https://[::1]:8443/label.xml", ("::1",))  # the operator listed the address


def test_url_hosts_parser() -> None:
    assert config_parsers.hosts(" PDS.nasa.gov., [::1], 127.0.0.2 ,") == (
        "pds.nasa.gov",
        "::1",
        "127.0.0.2",
    )
    for bad in ("http://pds.nasa.gov", "pds.nasa.gov:80", "pds.nasa.gov/x", "under_score.org"):
        with pytest.raises(ValueError, match="not a host name or IP address"):
            config_parsers.hosts(bad)


def test_the_labels_payload_is_read_as_spreadsheet_rows() -> None:
    document = {
        "labels": [
            {
                "status": "Reserved",
                "Title": "  A   Bundle ",
                "publication_date": "2020-03-11T00:00:00.000Z",
                "keywords": ["mars", "dust"],
                "related_resource": "urn:nasa:pds:a::1.0",
            },
            {"title": None},
        ]
    }
    assert spreadsheet.is_labels_payload(document)
    assert not spreadsheet.is_labels_payload({"data": {"attributes": {}}})
    [(where, row)] = list(spreadsheet.labels(document))
    assert where == "labels[0]"
    assert row["title"] == "A Bundle"
    assert row["publication_date"] == "2020-03-11"
    assert row["keywords"] == "mars; dust"
    assert row["author_last_name"] == ""  # a missing column is empty, as a blank cell
    for bad, problem in [
        ({"labels": {}}, "'labels' is not a list"),
        ({"labels": []}, "'labels' is empty"),
        ({"labels": ["x"]}, "labels[0] is not a JSON object"),
        ({"labels": [{"title": {"a": 1}}]}, "labels[0]: title is not text"),
    ]:
        with pytest.raises(spreadsheet.SheetError, match=problem.replace("[", r"\[")):
            list(spreadsheet.labels(bad))


def test_tokens_are_stored_as_hashes_only(tmp_path: Path) -> None:
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    now = datetime(2026, 1, 2, 3, 4)
    secret = tokens.add("node-img", tokens.Role.SUBMITTER, "img@example.org", now)
    [row] = Token.select().tuples()
    assert secret not in json.dumps([str(value) for value in row])
    assert tokens.verify(secret).name == "node-img"
    assert tokens.verify(secret + "x") is None
    tokens.revoke("node-img", now)
    assert tokens.verify(secret) is None
    with pytest.raises(tokens.TokenError, match="reader tokens submit nothing"):
        tokens.add("r", tokens.Role.READER, "r@example.org", now)
    with pytest.raises(tokens.TokenError, match="token name"):
        tokens.add("bad name", tokens.Role.READER, None, now)
    with pytest.raises(tokens.TokenError, match="must be one of reader, submitter, operator"):
        tokens.Role.named("admin")
    assert tokens.Role.OPERATOR > tokens.Role.SUBMITTER > tokens.Role.READER


def test_api_messages_name_parameters_where_the_cli_names_flags() -> None:
    from organiser.api.errors import api_words

    assert api_words("body: --node is required for PDS4 labels") == (
        "body: node is required for PDS4 labels"
    )
    assert api_words("--node 'moon': not a known node") == "node 'moon': not a known node"
    assert api_words("title used by 10.5072/x; refused (--force reserves it anyway)") == (
        "title used by 10.5072/x; refused (force=true reserves it anyway)"
    )
    assert api_words("a reason is required (--reason TEXT)") == (
        "a reason is required (reason=TEXT)"
    )
    assert api_words("--nodes-file and --forced stay") == "--nodes-file and --forced stay"


def test_bearer_tokens_are_read_as_the_api_reads_them() -> None:
    from organiser.api.limits import bearer_token

    def scope(value: bytes | None) -> dict[str, object]:
        return {"headers": [] if value is None else [(b"authorization", value)]}

    assert bearer_token(scope(b"Bearer abc")) == "abc"
    assert bearer_token(scope(b"bearer abc")) == "abc"
    for refused in (None, b"Basic eDp5", b"Bearer", b"Bearer ", b"Token abc"):
        assert bearer_token(scope(refused)) is None, refused
