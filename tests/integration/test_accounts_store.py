"""The account column (schema v8): records written before it are the default account's;
the stand-in's command line learns several accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from playhouse.migrate import SchemaMigrator, migrate

from organiser.storage.database import MIGRATIONS, open_database
from organiser.storage.models import Record, SchemaVersion


def test_a_version_7_database_gains_the_account_of_its_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v7.db'}"
    db = open_database(url, MIGRATIONS[:7])
    migrate(SchemaMigrator.from_database(db).drop_column("record", "account"))
    db.execute_sql(
        "INSERT INTO record (doi, doi_generated, identifier, status, attributes, created_at, "
        "updated_at, attempts) VALUES ('10.5072/v7', 1, 'urn:nasa:pds:b::1.0', 'registered', "
        "'{}', '2026-01-01', '2026-01-01', 0)"
    )
    assert "account" not in {c.name for c in db.get_columns("record")}
    db.close()

    open_database(url)
    assert SchemaVersion.get().version == len(MIGRATIONS) >= 8
    assert Record.get(Record.doi == "10.5072/v7").account == "datacite"
    # and a row written by SQL that names no account (as a bulk tool might) gets it too
    Record._meta.database.execute_sql(
        "INSERT INTO record (doi, doi_generated, identifier, status, attributes, created_at, "
        "updated_at, attempts) VALUES ('10.5072/v8', 1, 'x', 'reserved', '{}', '2026-01-01', "
        "'2026-01-01', 0)"
    )
    assert Record.get(Record.doi == "10.5072/v8").account == "datacite"


def test_the_standin_command_refuses_a_malformed_account() -> None:
    from organiser.standin.__main__ import main

    result = CliRunner().invoke(main, ["--account", "NASA.SBN:no-prefix"])
    assert result.exit_code == 2
    assert "--account" in result.output and "not USER:PASSWORD:PREFIX" in result.output


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("NASA.SBN:pw:10.26033", ("NASA.SBN", ("pw", ["10.26033"]))),
        ("NASA.SBN:p:w:10.26033,10.26034", ("NASA.SBN", ("p:w", ["10.26033", "10.26034"]))),
    ],
)
def test_the_standin_command_reads_an_account(
    entry: str, expected: tuple[str, tuple[str, list[str]]]
) -> None:
    from organiser.standin.__main__ import parse_account

    assert parse_account(entry) == expected
