"""PDS4 labels, spreadsheets and URLs through the installed command: intake, checks, hostile
input, versioned DOIs, and updates that reach the stand-in."""

from __future__ import annotations

import http.server
import json
import os
import random
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from conftest import DATA, Env

BASE = (DATA / "pds4" / "bundle_insight_cameras_author_list.xml").read_text()


def label(
    folder: Path,
    name: str,
    vid: str = "1.0",
    title: str | None = None,
    lid: str = "urn:nasa:pds:insight_cameras",
) -> Path:
    """Write a variant of a real InSight bundle label; give its path."""
    text = BASE.replace("<version_id>1.1</version_id>", f"<version_id>{vid}</version_id>")
    text = text.replace("urn:nasa:pds:insight_cameras</logical", f"{lid}</logical")
    text = text.replace("InSight Cameras Bundle 1.1", title or f"InSight Cameras Bundle {lid}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _refused(
    env: Env, result: subprocess.CompletedProcess[str], before: list, lines: int = 1
) -> list[str]:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == lines, result.stderr
    assert env.snapshot() == before
    return errors


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 serving tmp_path/www; gives (base URL, paths asked for)."""
    root = tmp_path / "www"
    root.mkdir()
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path.startswith("/loop"):
                self.send_response(302)
                self.send_header("Location", self.path + "x")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def test_labels_are_reserved_and_the_same_label_twice_is_refused(env: Env) -> None:
    path = label(env.tmp / "in", "bundle.xml")
    result = env.run("reserve", str(path), "--node", "img")
    assert result.returncode == 0, result.stderr
    [record] = env.records()
    assert (record.identifier, record.lid, record.node) == (
        "urn:nasa:pds:insight_cameras::1.0",
        "urn:nasa:pds:insight_cameras",
        "img",
    )
    attributes = json.loads(record.attributes)
    assert attributes["contributors"][-1]["name"] == "Planetary Data System: Imaging Node"
    assert record.url.endswith(
        "viewBundle.jsp?identifier=urn%3Anasa%3Apds%3Ainsight_cameras&version=1.0"
    )
    [line] = _refused(env, env.run("reserve", str(path), "--node", "img"), env.snapshot())
    assert line == (
        f"Error: {path}: urn:nasa:pds:insight_cameras::1.0 already has DOI "
        f"{record.doi} (to-be-reserved); use 'organiser update' to change its "
        "metadata"
    )


@pytest.mark.slow
def test_node_is_required_and_checked(env: Env) -> None:
    path = label(env.tmp / "in", "bundle.xml")
    [line] = _refused(env, env.run("reserve", str(path)), [])
    assert line == f"Error: {path}: --node is required for PDS4 labels and spreadsheets"
    [line] = _refused(env, env.run("reserve", str(path), "--node", "mars"), [])
    assert line.startswith("Error: --node 'mars': not a known node (atm, eng, geo, img, naif,")
    env.write_config(intake={"extra_nodes": "lro=Lunar Reconnaissance Orbiter Data"})
    assert env.run("reserve", str(path), "--node", "lro").returncode == 0
    assert "Lunar Reconnaissance Orbiter Data Node" in env.records()[0].attributes


def test_every_problem_is_reported_at_once_and_nothing_is_written(env: Env) -> None:
    good = label(env.tmp / "in", "a_good.xml")
    bad_vid = label(env.tmp / "in", "b_vid.xml", vid="1", lid="urn:nasa:pds:other")
    no_title = env.tmp / "in" / "c_title.xml"
    no_title.write_text(BASE.replace("<title>InSight Cameras Bundle 1.1</title>", ""))
    errors = _refused(env, env.run("reserve", str(env.tmp / "in"), "--node", "img"), [], 2)
    assert errors == [
        f"Error: {bad_vid}: invalid LIDVID 'urn:nasa:pds:other::1': version must be N.N",
        f"Error: {no_title}: no title in Identification_Area",
    ]
    assert good.exists()


def test_dry_run_writes_nothing(env: Env) -> None:
    path = label(env.tmp / "in", "bundle.xml")
    result = env.run("reserve", "--dry-run", str(path), "--node", "img")
    assert result.returncode == 0
    assert result.stdout == (
        f"would reserve\t(new DOI)\turn:nasa:pds:insight_cameras::1.0\tto-be-reserved\t{path}\n"
    )
    assert env.snapshot() == []


@pytest.mark.slow
def test_a_title_used_by_another_identifier_needs_force(env: Env) -> None:
    first = label(env.tmp / "a", "one.xml", title="Same Title")
    other = label(env.tmp / "b", "two.xml", title="Same Title", lid="urn:nasa:pds:elsewhere")
    env.ok("reserve", str(first), "--node", "img")
    before = env.snapshot()
    [line] = _refused(env, env.run("reserve", str(other), "--node", "img"), before)
    assert line == (
        f"Error: {other}: title 'Same Title' is already used by "
        f"urn:nasa:pds:insight_cameras::1.0 ({env.records()[0].doi}); refused "
        "(--force reserves it anyway)"
    )
    forced = env.run("reserve", "--force", str(other), "--node", "img")
    assert forced.returncode == 0
    assert forced.stderr.startswith(f"warning: {other}: title 'Same Title' is already used by")
    assert len(env.records()) == 2


def test_update_from_a_changed_label_reaches_datacite(env: Env) -> None:
    path = label(env.tmp / "in", "bundle.xml", title="First Title")
    env.ok("reserve", str(path), "--node", "img")
    env.ok("--register-doi", "1")
    doi = env.records()[0].doi
    assert env.remote == {doi: "findable"}

    label(env.tmp / "in", "bundle.xml", title="Second Title")
    result = env.run("update", str(path))  # found by its LIDVID; the record's node is used
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{doi}\turn:nasa:pds:insight_cameras::1.0\tupdate-registered\n"
    assert env.run("-u").returncode == 0
    held = env.server.datacite.dois[doi]
    assert (held["state"], held["attributes"]["titles"]) == (
        "findable",
        [{"title": "Second Title"}],
    )
    assert env.records()[0].status == "registered"

    newer = label(env.tmp / "v2", "bundle.xml", vid="2.0", title="Second Title")
    assert env.run("update", str(newer)).returncode == 0  # a new version keeps its DOI
    record = env.records()[0]
    assert (record.identifier, record.status) == (
        "urn:nasa:pds:insight_cameras::2.0",
        "update-registered",
    )
    assert [i["identifier"] for i in json.loads(record.attributes)["identifiers"]] == [
        "urn:nasa:pds:insight_cameras::2.0",
        "urn:nasa:pds:insight_cameras::1.0",
    ]


def test_a_new_version_is_refused_unless_versioned_dois(env: Env) -> None:
    env.ok("reserve", str(label(env.tmp / "v1", "b.xml")), "--node", "img")
    v2 = label(env.tmp / "v2", "b.xml", vid="2.0")
    doi = env.records()[0].doi
    [line] = _refused(env, env.run("reserve", str(v2), "--node", "img"), env.snapshot())
    assert line == (
        f"Error: {v2}: urn:nasa:pds:insight_cameras already has DOI {doi} (as "
        f"urn:nasa:pds:insight_cameras::1.0); run 'organiser update {doi} {v2}' "
        "for the new version, or set versioned_dois"
    )


@pytest.mark.slow
def test_versioned_dois(env: Env) -> None:
    env.write_config(intake={"versioned_dois": "true"})
    env.ok("reserve", str(label(env.tmp / "v1", "b.xml")), "--node", "img")
    env.ok("--register-doi", "1")
    first = env.records()[0].doi
    result = env.run("reserve", str(label(env.tmp / "v2", "b.xml", vid="2.0")), "--node", "img")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{first}.2\turn:nasa:pds:insight_cameras::2.0\tto-be-reserved",
        f"{first}\turn:nasa:pds:insight_cameras::1.0\tupdate-registered",
    ]
    assert env.run("-u", "-s").returncode == 0
    old, new = (json.loads(r.attributes)["relatedIdentifiers"] for r in env.records())
    assert old == [
        {
            "relatedIdentifier": f"{first}.2",
            "relatedIdentifierType": "DOI",
            "relationType": "IsPreviousVersionOf",
        }
    ]
    assert new == [
        {
            "relatedIdentifier": first,
            "relatedIdentifierType": "DOI",
            "relationType": "IsNewVersionOf",
        }
    ]
    assert env.remote == {first: "findable", f"{first}.2": "draft"}
    held = env.server.datacite.dois
    assert held[first]["attributes"]["relatedIdentifiers"] == old
    assert held[f"{first}.2"]["attributes"]["relatedIdentifiers"] == new
    env.ok("delete", f"{first}.2")  # a deleted version's DOI is never given out again
    assert env.run("-d").returncode == 0
    result = env.run("reserve", str(label(env.tmp / "v3", "b.xml", vid="3.0")), "--node", "img")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(f"{first}.3\t")


def _sheet_rows() -> list[list[str]]:
    return [
        [
            "title",
            "publication_date",
            "product_type_specific",
            "author_last_name",
            "author_first_name",
            "related_resource",
            "notes",
        ],
        [
            "Bundle One",
            "2024-03-01",
            "PDS4 Refereed Data Bundle",
            "Deen",
            "Robert",
            "urn:nasa:pds:sheet_one::1.0",
            "extra column",
        ],
        ["", "", "", "", "", "", ""],
        [
            "Collection Two",
            "2023",
            "PDS4 Refereed Data Collection",
            "Maki",
            "Justin",
            "urn:nasa:pds:sheet_one:data::1.0",
            "",
        ],
    ]


def test_spreadsheets_csv_and_xlsx(env: Env) -> None:
    csv_path = env.tmp / "reserve.csv"
    csv_path.write_text("\n".join(",".join(row) for row in _sheet_rows()) + "\n")
    result = env.run("reserve", str(csv_path), "--node", "geo")
    assert result.returncode == 0, result.stderr
    records = env.records()
    assert [r.identifier for r in records] == [
        "urn:nasa:pds:sheet_one::1.0",
        "urn:nasa:pds:sheet_one:data::1.0",
    ]
    second = json.loads(records[1].attributes)
    assert second["types"] == {
        "resourceTypeGeneral": "Collection",
        "resourceType": "PDS4 Refereed Data Collection",
    }
    assert second["creators"][0]["name"] == "Maki, Justin"
    assert "viewCollection.jsp" in records[1].url

    book = Workbook()
    for row in _sheet_rows():
        book.active.append(
            [
                c.replace("sheet_one", "sheet_xlsx")
                .replace(" One", " Three")
                .replace(" Two", " Four")
                for c in row
            ]
        )
    book.save(env.tmp / "reserve.xlsx")
    assert env.run("reserve", str(env.tmp / "reserve.xlsx"), "--node", "geo").returncode == 0
    assert len(env.records()) == 4


def test_a_spreadsheet_with_one_bad_row(env: Env) -> None:
    rows = _sheet_rows()
    rows[3][5] = "urn:nasa:pds:sheet_one:Data"  # not a LID either (a LID alone is read)
    path = env.tmp / "reserve.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    [line] = _refused(env, env.run("reserve", str(path), "--node", "geo"), [])
    assert line == (
        f"Error: {path} row 4: invalid LIDVID 'urn:nasa:pds:sheet_one:Data': no '::' version"
    )


@pytest.mark.slow
def test_labels_from_urls(env: Env, served: tuple[str, list[str]]) -> None:
    base, asked = served
    label(env.tmp / "www", "bundle.xml")
    result = env.run("reserve", f"{base}/bundle.xml", "--node", "img")
    assert result.returncode == 0, result.stderr
    assert env.records()[0].identifier == "urn:nasa:pds:insight_cameras::1.0"
    before = env.snapshot()
    [line] = _refused(env, env.run("reserve", f"{base}/loop", "--node", "img"), before)
    assert line == f"Error: {base}/loop: more than 5 redirects"
    assert len([p for p in asked if p.startswith("/loop")]) == 6
    [line] = _refused(env, env.run("reserve", f"{base}/missing.xml", "--node", "img"), before)
    assert line == f"Error: {base}/missing.xml: HTTP 404 File not found"
    [line] = _refused(env, env.run("reserve", "ftp://127.0.0.1/x.xml", "--node", "img"), before)
    assert line == "Error: ftp://127.0.0.1/x.xml: only http:// and https:// URLs are read"
    env.write_config(intake={"max_bytes": "2000"})
    [line] = _refused(env, env.run("reserve", f"{base}/bundle.xml", "--node", "img"), before)
    assert line == f"Error: {base}/bundle.xml: larger than the 0.00190735 MB limit"


def test_utf8_bom_and_utf16_labels_are_accepted(env: Env) -> None:
    utf16 = env.tmp / "utf16.xml"
    text = (DATA / "pds4" / "bundle_ladee_spice_author_list_no_commas.xml").read_text()
    utf16.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    bom = DATA / "pds4" / "bundle_insight_cameras_utf8_bom.xml"
    result = env.run("reserve", str(utf16), str(bom), "--node", "naif")
    assert result.returncode == 0, result.stderr
    assert [r.identifier for r in env.records()] == [
        "urn:nasa:pds:ladee.spice::1.0",
        "urn:nasa:pds:insight_cameras::1.0",
    ]


def _hostile(tmp: Path, standin_url: str) -> dict[str, tuple[bytes, str]]:
    secret = tmp / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    entity = (
        '<?xml version="1.0"?>\n<!DOCTYPE Product_Bundle [<!ENTITY e SYSTEM "{}">]>\n'
        + BASE.replace("InSight Cameras Bundle 1.1", "&e;")
    )
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(2, 10)
        ).replace("&lol1;", "&lol;")
        + "]><lolz>&lol9;</lolz>"
    )
    latin1 = BASE.replace("InSight Cameras Bundle 1.1", "Caméras de l'atterrisseur")
    return {
        "empty.xml": ((DATA / "pds4-invalid" / "empty_label.xml").read_bytes(), "empty file"),
        "garbage.xml": (random.Random(4).randbytes(3000), "not well-formed XML"),
        "truncated.xml": (BASE.encode()[:1500], "not well-formed XML"),
        "page.xml": (
            b"<!DOCTYPE html>\n<html><body>Not found</body></html>",
            "an HTML page, not a label or DataCite XML",
        ),
        "nonamespace.xml": (
            BASE.replace(' xmlns="http://pds.nasa.gov/pds4/pds/v1"', "").encode(),
            "neither a PDS4 label nor DataCite XML (root element Product_Bundle)",
        ),
        "entity_file.xml": (
            entity.format(secret.as_uri()).encode(),
            "DOCTYPE declarations are not accepted",
        ),
        "entity_url.xml": (
            entity.format(f"{standin_url}/dois/10.5072/xxe").encode(),
            "DOCTYPE declarations are not accepted",
        ),
        "laughs.xml": (laughs.encode(), "DOCTYPE declarations are not accepted"),
        "latin1.xml": (latin1.encode("latin-1"), "not well-formed XML"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "empty.xml",
        "garbage.xml",
        "truncated.xml",
        "page.xml",
        "nonamespace.xml",
        "entity_file.xml",
        "entity_url.xml",
        "laughs.xml",
        "latin1.xml",
    ],
)
def test_hostile_and_broken_labels_are_refused(env: Env, name: str) -> None:
    data, problem = _hostile(env.tmp, env.server.url)[name]
    path = env.tmp / name
    path.write_bytes(data)
    [line] = _refused(env, env.run("reserve", str(path), "--node", "img"), [])
    assert line.startswith(f"Error: {path}: {problem}")
    assert "TOP-SECRET" not in line
    assert env.server.datacite.seen == []  # the URL entity was never fetched


def test_an_external_entity_never_opens_the_file(env: Env) -> None:
    fifo = env.tmp / "entity.fifo"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:  # blocks until somebody opens the FIFO for reading
        with open(fifo, "w") as handle:
            opened.set()
            handle.write("x")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    path = env.tmp / "entity.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "{fifo.as_uri()}">]><r>&e;</r>'
    )
    result = env.run("reserve", str(path), "--node", "img")
    assert result.returncode == 2
    assert not opened.is_set()
    with open(fifo) as handle:  # let the writer go
        handle.read()
    thread.join(5)


def test_an_oversized_label_is_refused_before_reading(env: Env) -> None:
    path = env.tmp / "huge.xml"
    with open(path, "wb") as handle:
        handle.write(BASE.encode())
        handle.seek(60 * 1024 * 1024)
        handle.write(b"\n")
    [line] = _refused(env, env.run("reserve", str(path), "--node", "img"), [])
    assert line == f"Error: {path}: larger than the 10 MB limit"


@pytest.mark.slow
def test_a_lost_create_is_recognised_after_the_lidvid_changed(env: Env) -> None:
    env.write_config(datacite={"retries": "1"})
    env.ok("reserve", str(label(env.tmp / "v1", "b.xml")), "--node", "img")
    env.faults(drop_next=1)  # the draft is created, the answer never arrives
    assert env.run("-s").returncode == 1
    [record] = env.records()
    assert (record.status, env.remote) == ("to-be-reserved", {record.doi: "draft"})
    assert env.run("update", str(label(env.tmp / "v2", "b.xml", vid="2.0"))).returncode == 0
    assert env.records()[0].identifier == "urn:nasa:pds:insight_cameras::2.0"

    assert env.run("-s").returncode == 0
    [record] = env.records()
    assert (record.status, env.remote) == ("reserved", {record.doi: "draft"})  # no fresh suffix
    held = env.server.datacite.dois[record.doi]["attributes"]["identifiers"]
    assert [i["identifier"] for i in held] == [
        "urn:nasa:pds:insight_cameras::2.0",
        "urn:nasa:pds:insight_cameras::1.0",
    ]
