"""Bad input: exit 2, one line naming the problem, no traceback, database unchanged."""

from __future__ import annotations

import json
import subprocess

import pytest

from organiser.storage.database import open_database

from conftest import DATA, MINIMAL, Env, write_records


@pytest.fixture
def marked(env: Env) -> Env:
    """An environment with three records: one reserved, one deleted, one to-be-reserved."""
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("--reserve-doi", "1")
    env.ok("delete", "2")
    env.ok("-d")
    assert [r.status for r in env.records()] == ["reserved", "deleted", "to-be-reserved"]
    return env


def _refused(env: Env, result: subprocess.CompletedProcess[str], before: list) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert env.snapshot() == before
    assert result.stdout == ""
    return lines[0]


@pytest.mark.slow
def test_malformed_json_is_refused(marked: Env) -> None:
    bad = marked.tmp / "bad.json"
    bad.write_text('{"titles": [{"title": "x"}],')
    before = marked.snapshot()
    line = _refused(marked, marked.run("reserve", str(marked.tmp / "in2"), str(bad)), before)
    assert line == f"Error: {marked.tmp / 'in2'}: no such file or directory"
    write_records(marked.tmp / "in2", 2, start=50)
    line = _refused(marked, marked.run("reserve", str(marked.tmp / "in2"), str(bad)), before)
    assert line == (
        f"Error: {bad}: not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1, column 29)"
    )


@pytest.mark.slow
def test_malformed_xml_is_refused(marked: Env) -> None:
    bad = marked.tmp / "bad.xml"
    bad.write_text((DATA / "datacite" / "kernel4_sample.xml").read_text()[:900])
    line = _refused(marked, marked.run("reserve", str(bad)), marked.snapshot())
    assert line.startswith(f"Error: {bad}: not well-formed XML: ")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.xml", "", "empty file"),
        (
            "entity.xml",
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            "DOCTYPE declarations are not accepted",
        ),
        ("osti.xml", None, "neither a PDS4 label nor DataCite XML (root element records)"),
        ("list.json", "[1, 2]", "expected a JSON object of DataCite attributes"),
        ("xml.json", json.dumps({**MINIMAL, "xml": "not base64!"}), "xml: not valid base64"),
        (
            "title.json",
            json.dumps({**MINIMAL, "titles": "x", "url": "https://x.org/1"}),
            'titles: "x" is not of type "array"',
        ),
    ],
)
def test_unusable_files_are_refused(
    marked: Env, name: str, content: str | None, problem: str
) -> None:
    path = marked.tmp / name
    if content is None:
        path.write_bytes((DATA / "pds4-invalid" / "not_pds4_osti_record.xml").read_bytes())
    else:
        path.write_text(content)
    line = _refused(marked, marked.run("reserve", str(path)), marked.snapshot())
    assert line.startswith(f"Error: {path}: {problem}")


@pytest.mark.slow
def test_unknown_id_is_refused(marked: Env) -> None:
    before = marked.snapshot()
    line = _refused(marked, marked.run("register", "1", "urn:nasa:pds:nothing::1.0"), before)
    assert line == "Error: urn:nasa:pds:nothing::1.0: no record with this DOI, identifier or id"
    line = _refused(marked, marked.run("--register-doi", "10.5072/none-none"), before)
    assert line == "Error: 10.5072/none-none: no record with this DOI"
    assert marked.server.datacite.seen[-1].method != "PUT"
    huge = "9" * 30  # no id (and no SQL integer): one line, not an internal error
    line = _refused(marked, marked.run("show", huge), before)
    assert line == f"Error: {huge}: no record with this DOI, identifier or id"


@pytest.mark.slow
def test_invalid_transitions_are_refused(marked: Env) -> None:
    before = marked.snapshot()
    deleted = marked.records()[1]
    line = _refused(marked, marked.run("register", "1", deleted.doi), before)
    assert line == f"Error: {deleted.doi} is deleted and cannot be registered"
    line = _refused(marked, marked.run("delete", deleted.doi), before)
    assert line == f"Error: {deleted.doi} is already deleted"
    reserved = marked.records()[0]
    line = _refused(marked, marked.run("--reserve-doi", reserved.doi), before)
    assert line == (
        f"Error: {reserved.doi} is reserved; --reserve-doi pushes a record marked to-be-reserved"
    )
    write_records(marked.tmp / "again", 1, start=0)
    line = _refused(marked, marked.run("reserve", str(marked.tmp / "again")), before)
    assert "already has DOI" in line and "use 'organiser update'" in line


@pytest.mark.slow
def test_config_without_prefix_is_refused(marked: Env) -> None:
    before = marked.snapshot()
    del marked.settings["datacite"]["prefix"]
    marked.write_config()
    for args in (["reserve", str(marked.tmp / "in")], ["-s"], ["--register-doi", "3"]):
        line = _refused(marked, marked.run(*args), before)
        assert line == (
            f"Error: {marked.config}: [datacite] prefix: missing (required; or set "
            "ORGANISER_DATACITE_PREFIX)"
        )


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("[datacite]\nprefix = 10.5072\nbatch = 3\n", "[datacite] batch: unknown key"),
        ("[datacite]\nprefix = 11.5072\n", "[datacite] prefix: '11.5072' must be a DOI prefix"),
        (
            "[datacite]\nprefix = 10.5072\n[organiser]\nbatch_size = lots\n",
            "[organiser] batch_size: 'lots' is not a number",
        ),
        ("prefix = 10.5072\n", "not a valid INI file: File contains no section headers."),
    ],
)
def test_bad_config_values_name_section_and_key(env: Env, ini: str, message: str) -> None:
    env.config.write_text(ini)
    result = env.run("-s", env={"ORGANISER_DATACITE_USERNAME": "u"})
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (env.tmp / "organiser.db").exists()


def test_password_is_never_shown(env: Env) -> None:
    env.write_config(database={"url": "postgresql://org:pg-secret@127.0.0.1:1/none"})
    checked = env.run("config", "check")
    assert checked.returncode == 0
    assert "pg-secret" not in checked.stdout and "standin-secret-4711" not in checked.stdout
    failed = env.run("-s")
    assert failed.returncode == 75  # the database server is unreachable: try again later
    assert "pg-secret" not in failed.stderr and "org:***@127.0.0.1" in failed.stderr
    bad = env.run("-s", env={"ORGANISER_ORGANISER_BATCH_SIZE": "0"})
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "Error: ORGANISER_ORGANISER_BATCH_SIZE: [organiser] batch_size: '0' must be a whole "
        "number from 1 to 10000"
    )


def test_usage_errors_exit_2(env: Env) -> None:
    result = env.run("-s", "list")
    assert result.returncode == 2 and "give pass flags or a subcommand, not both" in result.stderr
    assert env.run("--bogus").returncode == 2
    open_database(env.db_url)  # list creates none
    assert json.loads(env.ok("list", "--json").stdout or "[]") == []
