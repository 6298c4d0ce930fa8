"""Schema versioning: upgrades in place keep data; a newer database is refused."""

from __future__ import annotations

import os
from pathlib import Path

import peewee as pw
import pytest
from playhouse.migrate import SchemaMigrator, migrate

from organiser.domain.states import State
from organiser.storage.database import MIGRATIONS, DatabaseError, open_database
from organiser.storage.models import Record, SchemaVersion


def _add_column(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("record", "landing_checked", pw.BooleanField(default=False)))


def test_upgrade_in_place_keeps_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    db = open_database(url)
    Record.create(
        doi="10.5072/a",
        identifier="x",
        status=State.RESERVED,
        attributes="{}",
        created_at=pw.datetime.datetime(2026, 1, 1),
        updated_at=pw.datetime.datetime(2026, 1, 1),
    )
    assert SchemaVersion.get().version == len(MIGRATIONS)
    db.close()

    db = open_database(url, [*MIGRATIONS, _add_column])
    assert SchemaVersion.get().version == len(MIGRATIONS) + 1
    assert db.execute_sql("select doi, landing_checked from record").fetchall() == [
        ("10.5072/a", 0)
    ]
    db.close()
    db = open_database(url, [*MIGRATIONS, _add_column])  # nothing left to do: no error
    assert SchemaVersion.get().version == len(MIGRATIONS) + 1
    db.close()

    newer, known = len(MIGRATIONS) + 1, len(MIGRATIONS)
    with pytest.raises(
        DatabaseError, match=f"schema is version {newer}, this organiser knows up to {known}"
    ):
        open_database(url)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'sub' / 'o.db'}")
    assert db.execute_sql("pragma journal_mode").fetchone() == ("wal",)


def test_unusable_url() -> None:
    with pytest.raises(
        DatabaseError, match=r"^\[database\] url: cannot open nonsense: not a database URL"
    ):
        open_database("nonsense")


def test_a_version_1_database_gains_lid_and_title(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    db = open_database(url, MIGRATIONS[:1])
    migrator = SchemaMigrator.from_database(db)  # take the v2 columns away again
    migrate(*(migrator.drop_index("record", f"record_{c}") for c in ("lid", "title")))
    migrate(*(migrator.drop_column("record", c) for c in ("lid", "title")))
    db.execute_sql(
        "INSERT INTO record (doi, doi_generated, identifier, status, attributes, created_at, "
        "updated_at, attempts) VALUES ('10.5072/v1', 1, 'urn:nasa:pds:b::2.0', 'registered', "
        "'{\"titles\": [{\"title\": \"Old bundle\"}]}', '2026-01-01', '2026-01-01', 0)"
    )
    assert "lid" not in {c.name for c in db.get_columns("record")}
    db.close()

    open_database(url)
    record = Record.get(Record.doi == "10.5072/v1")
    assert (record.lid, record.title, record.status) == (
        "urn:nasa:pds:b",
        "Old bundle",
        "registered",
    )
    assert SchemaVersion.get().version == len(MIGRATIONS)


def test_upgrades_wait_for_the_run_lock(tmp_path: Path) -> None:
    from organiser.lock import LockHeld, RunLock

    url = f"sqlite:///{tmp_path / 'o.db'}"
    open_database(url, MIGRATIONS[:2]).close()  # a version 2 database
    holder, other = RunLock(tmp_path, url), RunLock(tmp_path, url)
    holder.acquire()
    try:
        with pytest.raises(LockHeld, match="another organiser run is in progress"):
            open_database(url, upgrade_lock=lambda: other.held_for(0.3))
        assert SchemaVersion.select().first().version == 2  # nothing migrated meanwhile
    finally:
        holder.release()
    opened: list[bool] = []

    def lock() -> object:
        opened.append(True)
        return other.held_for(0.3)

    open_database(url, upgrade_lock=lock)  # type: ignore[arg-type]
    assert opened == [True] and SchemaVersion.select().first().version == len(MIGRATIONS)
    open_database(url, upgrade_lock=lock)  # type: ignore[arg-type]
    assert opened == [True]  # an up-to-date database needs no lock
    assert not other.held


@pytest.mark.skipif(
    not os.environ.get("ORGANISER_TEST_POSTGRES_URL"), reason="ORGANISER_TEST_POSTGRES_URL not set"
)
def test_the_daemon_s_reconnect_survives_a_dropped_connection(tmp_path: Path) -> None:
    import psycopg2

    from organiser.app import App

    url = os.environ["ORGANISER_TEST_POSTGRES_URL"]
    config = tmp_path / "o.ini"
    config.write_text(f"[database]\nurl = {url}\n[organiser]\nstate_dir = {tmp_path}\n")
    app = App(str(config), {})
    app.open_db()
    assert Record.select().count() >= 0
    with psycopg2.connect(url) as admin:
        admin.autocommit = True
        admin.cursor().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(pw.OperationalError):
        Record.select().count()  # the old connection is gone
    app.reconnect_db()
    assert Record.select().count() >= 0  # a fresh one is opened
