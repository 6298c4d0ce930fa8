"""Storage: the peewee models, opening a database from a URL, and in-place schema upgrades.

The models are bound to a :class:`peewee.DatabaseProxy`; :func:`open_database` points it at
the configured database and brings the schema up to :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import peewee as pw
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate

database_proxy = pw.DatabaseProxy()


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says why in one line."""


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy


class Record(BaseModel):
    """One DOI and what the organiser knows and wants of it."""

    doi = pw.CharField(unique=True)
    doi_generated = pw.BooleanField(default=True)  # chosen here, so a fresh suffix is allowed
    identifier = pw.CharField(index=True)  # the repository's own id, e.g. a PDS LIDVID
    lid = pw.CharField(null=True, index=True)  # identifier without "::version" (since v2)
    title = pw.TextField(null=True, index=True)  # first title (500 chars), duplicate checks; v2
    status = pw.CharField(index=True)
    prior_status = pw.CharField(null=True)  # update: state to return to; delete: state left
    remote_state = pw.CharField(null=True)  # draft / registered / findable as DataCite last said
    attributes = pw.TextField()  # DataCite metadata attributes, JSON
    url = pw.TextField(null=True)  # landing page
    node = pw.CharField(null=True)
    submitter = pw.CharField(null=True)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    claim_owner = pw.CharField(null=True)
    claim_expires_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "record"
        indexes = ((("status", "id"), False),)


class History(BaseModel):
    """Append-only: one row per state change of a record."""

    record = pw.ForeignKeyField(Record, backref="history", on_delete="RESTRICT")
    from_status = pw.CharField(null=True)
    to_status = pw.CharField()
    action = pw.CharField()
    actor = pw.CharField()  # who or what caused it: a submitter, "organiser --register-all", ...
    at = pw.DateTimeField()
    outcome = pw.TextField(null=True)

    class Meta:
        table_name = "history"


class SchemaVersion(BaseModel):
    version = pw.IntegerField()

    class Meta:
        table_name = "schema_version"


MODELS = (Record, History, SchemaVersion)

Migration = Callable[[pw.Database], None]


def _create_v1(db: pw.Database) -> None:
    db.create_tables([Record, History])


def _lid_and_title_v2(db: pw.Database) -> None:
    """v2: ``lid`` and ``title`` columns (indexed), filled in from existing rows."""
    have = {column.name for column in db.get_columns("record")}
    migrator = SchemaMigrator.from_database(db)
    steps = [
        migrator.add_column("record", name, pw.TextField(null=True))
        for name in ("lid", "title")
        if name not in have
    ]
    steps += [
        migrator.add_index("record", (name,))
        for name in ("lid", "title")
        if not any(index.columns == [name] for index in db.get_indexes("record"))
    ]
    migrate(*steps)
    for row_id, identifier, attributes in db.execute_sql(
        "SELECT id, identifier, attributes FROM record WHERE lid IS NULL"
    ).fetchall():
        Record.update(lid=lid_of(identifier), title=title_of(json.loads(attributes))).where(
            Record.id == row_id
        ).execute()


def lid_of(identifier: str) -> str:
    """Give ``identifier`` without its ``::version`` part."""
    return identifier.split("::", 1)[0]


#: Titles are kept (and compared) up to this many characters: enough to tell titles apart,
#: and short enough for a PostgreSQL index entry (at most about 2,700 bytes).
TITLE_KEY_LENGTH = 500


def title_of(attributes: dict) -> str | None:
    """Give the first title in DataCite ``attributes`` (its first 500 characters), if any."""
    titles = attributes.get("titles") or []
    first = titles[0] if titles else None
    title = first.get("title") if isinstance(first, dict) else None
    return title[:TITLE_KEY_LENGTH] if isinstance(title, str) else None


#: Ordered schema steps; step N brings a version N-1 database to version N. Steps after the
#: first use ``playhouse.migrate`` so existing rows are kept, and only add what is missing (the
#: first step creates tables from the current models).
MIGRATIONS: Sequence[Migration] = (_create_v1, _lid_and_title_v2)
SCHEMA_VERSION = len(MIGRATIONS)


def open_database(url: str, migrations: Sequence[Migration] = MIGRATIONS) -> pw.Database:
    """Give an open database for ``url`` with its schema upgraded in place.

    SQLite files get WAL mode and a busy timeout; their directory is created.
    Raises :class:`DatabaseError` when the URL is unusable, the server is unreachable or the
    database was written by a newer organiser.
    """
    try:
        db = _connect(url)
        db.connect(reuse_if_open=True)
    except (pw.OperationalError, pw.ImproperlyConfigured, sqlite3.Error, RuntimeError) as exc:
        raise DatabaseError(
            f"[database] url: cannot open {redact_url(url)}: {_first_line(exc)}"
        ) from None
    database_proxy.initialize(db)
    upgrade(db, migrations)
    return db


def _connect(url: str) -> pw.Database:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]).expanduser()
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return pw.SqliteDatabase(
            str(path),
            pragmas={"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1},
        )
    if "://" not in url:
        raise RuntimeError("not a database URL (sqlite:///PATH or postgresql://...)")
    return connect(url)


def upgrade(db: pw.Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring ``db`` to ``len(migrations)``, one step per transaction; give the version reached.

    Raises :class:`DatabaseError` if the database is newer than this organiser knows.
    """
    with db.atomic():
        db.create_tables([SchemaVersion])
        row = SchemaVersion.select().first()
        if row is None:
            row = SchemaVersion.create(version=0)
    if row.version > len(migrations):
        raise DatabaseError(
            f"database schema is version {row.version}, this organiser knows up to "
            f"{len(migrations)}: upgrade organiser"
        )
    for number in range(row.version + 1, len(migrations) + 1):
        with db.atomic():
            migrations[number - 1](db)
            SchemaVersion.update(version=number).execute()
    return len(migrations)


def redact_url(url: str) -> str:
    """Give ``url`` with any password replaced by ``***``."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        creds, _, host = tail.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{head}://{user}:***@{host}"
    return url


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
