"""Intake's limits (issue 13): JSON nesting depth and number sizes, text lengths, records per
source, and one deadline for a whole URL fetch. Each refusal is an :class:`InputError` (or the
fetch's :class:`SourceError`) with one line naming the source and the field, never a
RecursionError or a bare ValueError; a fetch from a host that trickles ends at the deadline."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from organiser.domain.identifiers import DoiScheme
from organiser.intake import InputError, Options, read
from organiser.intake.bounds import MAX_DEPTH, MAX_TEXT
from organiser.intake.sources import Limits, Source, SourceError, load

from conftest import DATA, MINIMAL

SCHEME = DoiScheme("10.5072")


def _row(**columns: object) -> dict[str, object]:
    row: dict[str, object] = {
        "title": "A Bundle",
        "publication_date": "2020-03-11",
        "product_type_specific": "PDS4 Bundle",
        "author_last_name": "Johnson",
        "author_first_name": "J. R.",
        "related_resource": "urn:nasa:pds:a_bundle::1.0",
    }
    return row | columns


def _refused(data: bytes | str, suffix: str = ".json", **limits: int | None) -> list[str]:
    """Read ``data`` as the body ``body``; check it is refused; give its lines."""
    raw = data.encode() if isinstance(data, str) else data
    options = Options(SCHEME, node="img", limits=Limits(**limits))  # type: ignore[arg-type]
    with pytest.raises(InputError) as refused:
        read(Source("body", raw, suffix), options)
    return refused.value.errors


def test_json_nested_deeper_than_the_limit_is_one_line() -> None:
    message = f"body: nested deeper than {MAX_DEPTH} arrays and objects"
    assert _refused("[" * 50_000 + "]" * 50_000) == [message]  # past Python's recursion limit
    assert _refused('{"labels": ' + "[" * 200 + "]" * 200 + "}") == [message]
    deep = MAX_DEPTH - 2  # within the limit with the two objects around it, then one more

    def nested(levels: int) -> str:
        return (
            '{"data": ' + json.dumps(MINIMAL)[:-1] + ', "x": ' + "[" * levels + "]" * levels + "}}"
        )

    [item] = read(Source("body", nested(deep).encode(), ".json"), Options(SCHEME))
    assert item.title == "x"
    assert _refused(nested(deep + 1)) == [message]


def test_a_huge_number_is_refused_not_a_value_error() -> None:
    digits = "9" * 5_000  # past Python's 4,300-digit limit for int()
    payload = '{"labels": [{"title": "x", "publication_date": ' + digits + "}]}"
    assert _refused(payload) == ["body: a number of 5000 characters (at most 100)"]
    assert _refused('{"publicationYear": 1' + "0" * 200 + ".5}") == [
        "body: a number of 203 characters (at most 100)"
    ]


def test_text_over_the_limit_is_refused_naming_the_field() -> None:
    title = "x" * 10_000_000
    record = MINIMAL | {"titles": [{"title": "ok"}, {"title": title}]}
    assert _refused(json.dumps(record)) == [
        f"body: titles[1].title: 10000000 characters (at most {MAX_TEXT})"
    ]
    labels = {"labels": [_row(title="y" * (MAX_TEXT + 1))]}
    assert _refused(json.dumps(labels)) == [
        f"body labels[0]: titles[0].title: {MAX_TEXT + 1} characters (at most {MAX_TEXT})"
    ]
    long_url = MINIMAL | {"url": "https://pds.nasa.gov/" + "a" * 3000}
    assert _refused(json.dumps(long_url)) == ["body: url: 3021 characters (at most 2048)"]
    # an abstract may be longer than a title
    abstract = MINIMAL | {
        "descriptions": [{"description": "z" * 20_000, "descriptionType": "Abstract"}]
    }
    [item] = read(Source("body", json.dumps(abstract).encode(), ".json"), Options(SCHEME))
    assert item.attributes["descriptions"][0]["description"] == "z" * 20_000


def test_more_records_than_max_records_are_refused_before_checking() -> None:
    records = [MINIMAL | {"titles": [{"title": f"t{n}"}]} for n in range(5)]
    message = "body: more than 4 records; at most 4 are read at once ([api] max_records)"
    assert _refused(json.dumps(records), max_records=4) == [message]
    labels = {"labels": [_row(related_resource=f"urn:nasa:pds:b{n}::1.0") for n in range(5)]}
    assert _refused(json.dumps(labels), max_records=4) == [message]
    header = ",".join(_row())
    rows = [
        ",".join(str(v) for v in _row(related_resource=f"urn:nasa:pds:c{n}::1.0").values())
        for n in range(5)
    ]
    sheet = "\n".join([header, *rows])
    assert _refused(sheet, ".csv", max_records=4) == [message]
    # at the limit, and without one (the command line), all are read
    options = Options(SCHEME, node="img", limits=Limits(max_records=5))
    assert len(read(Source("body", json.dumps(records).encode(), ".json"), options)) == 5
    assert len(read(Source("body", json.dumps(records).encode(), ".json"), Options(SCHEME))) == 5


def test_deep_xml_is_one_line() -> None:
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    [line] = _refused(deep, ".xml")
    assert line.startswith("body: not well-formed XML:"), line
    assert "\n" not in line


@pytest.fixture
def trickler() -> Iterator[Callable[[bytes], str]]:
    """A server on 127.0.0.1 that answers each connection by sending the bytes it was
    given one every 0.2 s, until the client goes (or 60 s pass); gives a function that
    starts a server for some bytes and gives its URL."""
    stop = threading.Event()
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=trickle, args=(connection,), daemon=True).start()

        def trickle(connection: socket.socket) -> None:
            with connection:
                connection.recv(65536)
                for byte in answer:
                    if stop.wait(0.2):  # the pace of a hostile host, not synchronisation
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/label.xml"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + b"x" * 300,  # a trickled body
        b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 300 + b"\r\n\r\n",  # trickled headers
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 300,  # no length, trickled
    ],
    ids=["body", "headers", "until-close"],
)
def test_a_url_fetch_ends_at_its_one_deadline(
    trickler: Callable[[bytes], str], answer: bytes
) -> None:
    url = trickler(answer)  # each byte well within the per-read timeout, the whole far beyond
    started = time.monotonic()
    with pytest.raises(SourceError) as refused:
        load(url, Limits(timeout=1.0))
    took = time.monotonic() - started
    assert str(refused.value) == f"{url}: not read within 1 s"
    assert took < 5, took  # the host would have taken 60 s


@pytest.mark.slow
def test_redirects_share_the_deadline(trickler: Callable[[bytes], str]) -> None:
    slow = trickler(b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + b"x" * 300)
    hop = trickler(f"HTTP/1.1 302 Found\r\nLocation: {slow}\r\nContent-Length: 0\r\n\r\n".encode())
    started = time.monotonic()
    with pytest.raises(SourceError, match="not read within 2 s"):
        load(hop, Limits(timeout=2.0))
    assert time.monotonic() - started < 6


def test_digits_int_cannot_read_are_text_not_a_value_error() -> None:
    sample = (DATA / "datacite" / "kernel4_sample.xml").read_text()
    for year in ("9" * 5000, "²"):  # past int()'s digit limit; a digit int() cannot read
        xml = re.sub(r"<publicationYear>[^<]*<", f"<publicationYear>{year}<", sample)
        [line] = _refused(xml, ".xml")
        assert line.startswith(f'body: publicationYear: "{year[:20]}'), line
    label = (DATA / "pds4" / "bundle_bepicolombo_mag_list_author_funding.xml").read_text()
    huge = label.replace("<sequence_number>1<", f"<sequence_number>{'1' * 5000}<", 1)
    assert huge != label
    [item] = read(Source("body", huge.encode(), ".xml"), Options(SCHEME, node="img"))
    assert item.attributes["creators"]  # read in label order instead
