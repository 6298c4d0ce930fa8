"""Large batches through ``organiser reserve``: read on all CPUs, kept compressed, written in
chunks inside one transaction. One bad file (the last one read) still marks nothing, and what
is stored is exactly what was read."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from organiser.intake import reading
from organiser.intake.formats.datacite_json import WRITABLE
from organiser.storage import records as store
from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import Env, template, write_records

#: Enough files for the process pool (and more than one of its chunks of 64 files).
BATCH = 300


def test_a_batch_is_large_enough_to_be_read_in_parallel() -> None:
    assert reading.PARALLEL_FROM < BATCH
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: large batches are read serially here")


def _write_last(folder: Path, attributes: dict[str, Any] | str) -> Path:
    path = folder / "record_99999.json"  # sorts after every file write_records writes
    path.write_text(attributes if isinstance(attributes, str) else json.dumps(attributes))
    return path


def _bad_last_file(folder: Path, problem: str) -> tuple[Path, str]:
    """Write the batch's last file with ``problem``; give it and what its error line says."""
    lid = "urn:nasa:pds:organiser_test_00000"  # the batch's first file's LID
    other = [{"identifier": "urn:x:other::1.0", "identifierType": "Local"}]
    if problem == "schema":
        bad = dict(template(), identifiers=other, creators=[])
        return _write_last(folder, bad), 'metadata: "creators" is a required property'
    if problem == "not json":
        return _write_last(folder, '{"data": {"attributes": '), "not valid JSON"
    if problem == "same lid":
        version = [{"identifier": f"{lid}::2.0", "identifierType": "PDS4 LIDVID"}]
        bad = dict(template(), identifiers=version, titles=[{"title": "Another version"}])
        first = folder / "record_00000.json"
        return _write_last(folder, bad), f"{lid} is also in {first}; reserve one version at a time"
    assert problem == "same title"
    bad = dict(template(), identifiers=other, titles=[{"title": "Organiser test bundle 0"}])
    return _write_last(folder, bad), (
        "title 'Organiser test bundle 0' is used twice in this batch for different "
        "identifiers; refused (--force reserves it anyway)"
    )


@pytest.mark.parametrize("problem", ["schema", "not json", "same lid", "same title"])
def test_a_large_batch_whose_last_file_is_bad_marks_nothing(env: Env, problem: str) -> None:
    folder = env.tmp / "in"
    write_records(folder, BATCH - 1)
    path, message = _bad_last_file(folder, problem)
    result = env.run("reserve", str(folder))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}: ")
    assert message in line
    assert result.stdout == ""
    assert env.snapshot() == []


@pytest.mark.slow
def test_a_large_batch_whose_last_doi_is_taken_marks_nothing(env: Env) -> None:
    write_records(env.tmp / "earlier", 1, start=5000)
    assert env.run("reserve", str(env.tmp / "earlier")).returncode == 0
    [held] = env.records()
    before = env.snapshot()
    folder = env.tmp / "in"
    write_records(folder, BATCH - 1)
    attributes = dict(
        template(),
        doi=held.doi,
        identifiers=[{"identifier": "urn:x:taken::1.0", "identifierType": "x"}],
        titles=[{"title": "Taken"}],
    )
    path = _write_last(folder, attributes)
    result = env.run("reserve", str(folder))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"Error: {path}: DOI {held.doi} is already in the database\n"
    assert env.snapshot() == before


def _clean(value: Any) -> Any:
    """``value`` without empty lists, objects and strings (what intake drops too)."""
    if isinstance(value, dict):
        value = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in value.items() if v not in ([], {}, "", None)}
    if isinstance(value, list):
        return [v for v in (_clean(v) for v in value) if v not in ([], {}, "", None)]
    return value


def test_a_large_batch_round_trips_its_metadata_exactly(env: Env) -> None:
    base = template()
    url = base.pop("url")
    readonly = {k: base.pop(k) for k in list(base) if k not in WRITABLE}
    base["types"] = {k: base["types"][k] for k in ("resourceTypeGeneral", "resourceType")}
    writable = _clean(base)
    folder = env.tmp / "in"
    folder.mkdir()
    expected = {}
    for n in range(BATCH):
        attributes = json.loads(json.dumps(writable))
        identifier = f"urn:nasa:pds:round_trip_{n:04d}::1.0"
        attributes["identifiers"] = [{"identifier": identifier, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": f"Caméras de l'atterrisseur — 火星 {n}"}]
        attributes["descriptions"][0]["description"] += f' \u2014 n° {n}, \U0001f680 "quoted"'
        attributes["publicationYear"] = 2000 + n % 30 if n % 2 else str(2000 + n % 30)
        path = folder / f"r{n:04d}.json"
        page = f"{url}&n={n}"
        path.write_text(
            json.dumps({"data": {"attributes": {**attributes, **readonly, "url": page}}})
        )
        expected[identifier] = (attributes, page, str(path))
    result = env.run("reserve", str(folder))
    assert result.returncode == 0, result.stderr
    records = env.records()
    assert len(records) == BATCH == len(result.stdout.splitlines())
    assert [r.identifier for r in records] == sorted(expected)  # in the order read
    for record in records:
        attributes, page, _ = expected[record.identifier]
        assert json.loads(record.attributes) == attributes
        assert "火星" in record.attributes  # stored as UTF-8 text, not \\u escapes
        assert (record.url, record.title, record.lid) == (
            page,
            attributes["titles"][0]["title"],
            record.identifier.split("::")[0],
        )
        assert (record.status, record.doi_generated, record.node) == ("to-be-reserved", True, None)
    printed = {r.split("\t")[1]: r.split("\t") for r in result.stdout.splitlines()}
    assert {k: (v[0], v[2]) for k, v in printed.items()} == {
        r.identifier: (r.doi, "to-be-reserved") for r in records
    }
    open_database(env.db_url)
    outcomes = {h.record_id: h.outcome for h in History.select()}
    assert {r.identifier: outcomes[r.id] for r in records} == {k: v[2] for k, v in expected.items()}


def test_dry_run_of_a_large_batch_writes_nothing(env: Env) -> None:
    identifiers = write_records(env.tmp / "in", BATCH)
    result = env.run("reserve", "--dry-run", str(env.tmp / "in"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["would reserve", "(new DOI)", i] for i in identifiers
    ]
    assert env.snapshot() == []


def test_a_write_that_fails_in_a_later_chunk_leaves_nothing(db: str) -> None:
    count = store.WRITE_CHUNK * 2 + 10
    items = [
        store.NewRecord(f"10.5072/c-{n:05d}", True, f"urn:t:{n}", '{"titles": []}', None)
        for n in range(count)
    ]
    # a DOI used twice in the batch: only the database's unique index notices, in chunk 3
    items[-1] = store.NewRecord("10.5072/c-00000", True, "urn:t:last", "{}", None)
    with pytest.raises(pw.IntegrityError):
        store.write_new(items, "test", datetime(2026, 11, 21))
    assert Record.select().count() == 0
    assert History.select().count() == 0
