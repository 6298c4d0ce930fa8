"""Opening a database from a URL, and in-place schema upgrades.

:func:`open_database` points the models' proxy (:mod:`organiser.storage.models`) at the
configured database and brings the schema up to :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import peewee as pw
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate

from organiser.domain.metadata import lid_of, title_of
from organiser.errors import Unavailable, UserError
from organiser.redact import redact_url
from organiser.storage.indexes import query_indexes
from organiser.storage.models import (
    CLAIM_OWNER_INDEX,
    Binding,
    History,
    Notice,
    Record,
    Run,
    SchemaVersion,
    Token,
    database_proxy,
)


class DatabaseError(UserError):
    """The database cannot be opened or upgraded; the message says why in one line."""


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


def _runs_and_notices_v3(db: pw.Database) -> None:
    """v3: the ``run`` table (for ``status``) and the ``notice`` table (for email alerts)."""
    db.create_tables([Run, Notice])


def _claim_owner_index_v4(db: pw.Database) -> None:
    """v4: a partial index on ``record.claim_owner`` (the claimed rows only), so that an idle
    run's freeing of dead claims and releasing of its own reads no more than the claims."""
    if not any(index.name == CLAIM_OWNER_INDEX for index in db.get_indexes("record")):
        migrator = SchemaMigrator.from_database(db)
        migrate(
            migrator.add_index(
                "record",
                ("claim_owner",),
                where=pw.SQL("claim_owner IS NOT NULL"),
                name=CLAIM_OWNER_INDEX,
            )
        )


def _tokens_v5(db: pw.Database) -> None:
    """v5: the ``token`` table (the web API's bearer tokens, stored as SHA-256 hashes)."""
    db.create_tables([Token])


def _pending_change_v6(db: pw.Database) -> None:
    """v6: ``record.pending``, a submitter's change to a published record held for review."""
    if "pending" not in {column.name for column in db.get_columns("record")}:
        migrator = SchemaMigrator.from_database(db)
        migrate(migrator.add_column("record", "pending", pw.TextField(null=True)))


def _binding_v7(db: pw.Database) -> None:
    """v7: the ``binding`` table (the DataCite endpoint and account the database sends to)."""
    db.create_tables([Binding])


def _account_v8(db: pw.Database) -> None:
    """v8: ``record.account``, the DataCite account a record is sent through; records
    written before are the default account's (``[datacite]``, named "datacite")."""
    if "account" not in {column.name for column in db.get_columns("record")}:
        migrator = SchemaMigrator.from_database(db)
        column = pw.CharField(default="datacite", constraints=[pw.SQL("DEFAULT 'datacite'")])
        migrate(migrator.add_column("record", "account", column))


#: Ordered schema steps; step N brings a version N-1 database to version N. Steps after the
#: first use ``playhouse.migrate`` so existing rows are kept, and only add what is missing (the
#: first step creates tables from the current models).
MIGRATIONS: Sequence[Migration] = (
    _create_v1,
    _lid_and_title_v2,
    _runs_and_notices_v3,
    _claim_owner_index_v4,
    _tokens_v5,
    _pending_change_v6,
    _binding_v7,
    _account_v8,
    query_indexes,  # v9: status counts, the filters' indexes (organiser.storage.indexes)
)
SCHEMA_VERSION = len(MIGRATIONS)


def open_database(
    url: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    upgrade_lock: Callable[[], AbstractContextManager[Any]] | None = None,
    create: bool = True,
) -> pw.Database:
    """Give an open database for ``url`` with its schema upgraded in place.

    With ``create`` false, a database that does not exist yet (no SQLite file, or a server
    database without organiser's tables) is not created: :class:`NoDatabase` is raised.

    SQLite files get WAL mode, a busy timeout and transactions that take the write lock when
    they begin (``BEGIN IMMEDIATE``: a read-then-write transaction waits for a running pass
    instead of failing with "database is locked"); their directory is created. An upgrade
    runs inside ``upgrade_lock()`` (the host's run lock), so two processes never migrate at
    once. Raises :class:`DatabaseError` when the URL or file is unusable or the database was
    written by a newer organiser, :class:`DatabaseUnavailable` when the server cannot be
    reached.
    """
    with guard(url):
        if not create and _missing_file(url):
            raise NoDatabase(url)
        db = _connect(url)
        db.connect(reuse_if_open=True)
        database_proxy.initialize(db)
        if not create and _version(db) == 0:  # a server database without organiser's tables
            db.close()
            raise NoDatabase(url)
        if _version(db) != len(migrations):
            with upgrade_lock() if upgrade_lock else contextlib.nullcontext():
                upgrade(db, migrations)
    return db


class NoDatabase(DatabaseError):
    """A command that only reads found no database (it creates none); exit 2."""

    def __init__(self, url: str, source: str = "") -> None:
        origin = f" from {source}" if source else ""
        super().__init__(
            f"no database at {redact_url(url)} yet ([database] url{origin}): 'organiser "
            "reserve' or 'organiser import' creates it"
        )


def _missing_file(url: str) -> bool:
    """Tell whether ``url`` is an SQLite file that does not exist."""
    if not url.startswith("sqlite:///"):
        return False
    path = url[len("sqlite:///") :]
    return path != ":memory:" and not Path(path).expanduser().exists()


class DatabaseUnavailable(Unavailable):
    """The database server cannot be reached, or the disk is full; exit 75."""


#: What the database drivers raise (through peewee or directly).
DRIVER_ERRORS: tuple[type[Exception], ...] = (pw.PeeweeException, sqlite3.Error)


@contextlib.contextmanager
def guard(url: str) -> Iterator[None]:
    """Turn the database driver's errors inside the block into one-line organiser errors
    (see :func:`classify`); the path and URL errors of opening become :class:`DatabaseError`."""
    try:
        yield
    except (DatabaseError, DatabaseUnavailable):
        raise
    except (OSError, ValueError, RuntimeError, pw.ImproperlyConfigured) as exc:
        shown, problem = redact_url(url), _first_line(exc)
        if "postgres driver not found" in problem:  # organiser installed without [postgres]
            problem += (
                " Install organiser with PostgreSQL support: pip install 'organiser[postgres]'"
            )
        raise DatabaseError(f"[database] url: cannot open {shown}: {problem}") from None
    except DRIVER_ERRORS as exc:
        raise classify(exc, url) from None


def classify(exc: BaseException, url: str) -> DatabaseError | DatabaseUnavailable:
    """Give the organiser error for a driver error: :class:`DatabaseUnavailable` for what may
    pass (server gone, disk full, locked too long), :class:`DatabaseError` for what will not
    (not a database, read-only, a schema problem)."""
    shown = redact_url(url)
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:  # a failed rollback hides the real error
        chain.append(cause)
        cause = cause.__context__
    for error in reversed(chain):
        text = _first_line(error)
        if any(word in text.lower() for word in _TRANSIENT):
            return DatabaseUnavailable(f"database {shown}: {text}")
    return DatabaseError(f"[database] url: cannot use {shown}: {_first_line(exc)}")


#: Driver messages that mean "try again later" rather than "fix the configuration".
_TRANSIENT = (
    "disk is full",
    "disk i/o",
    "database is locked",
    "server closed",
    "connection refused",
    "could not connect",
    "terminating connection",
    "connection already closed",
    "timeout expired",
    "no route to host",
    "the database system is",
    "ssl syscall",
    "could not translate host",
)


def _version(db: pw.Database) -> int:
    """Give the schema version ``db`` is at (0 for an empty database)."""
    if "schema_version" not in db.get_tables():
        return 0
    row = SchemaVersion.select().first()
    return row.version if row else 0


def _connect(url: str) -> pw.Database:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]).expanduser()
        if str(path) != ":memory:":
            if path.is_dir():
                raise ValueError("is a directory, not a database file")
            path.parent.mkdir(parents=True, exist_ok=True)
        db = _SqliteDatabase(
            str(path),
            pragmas={"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1},
            lock_type="IMMEDIATE",
        )
        # SQLite's own LOWER() folds ASCII only; the list filters compare lower-cased text
        # and must find "Étude" as PostgreSQL does
        db.register_function(_lower, "lower", 1, deterministic=True)
        return db
    if "://" not in url:
        raise ValueError("not a database URL (sqlite:///PATH or postgresql://...)")
    return connect(url)


class _ClosedWithThread:
    """Holds one thread's SQLite connection and closes it when the thread ends (or opens
    another): Python's ``sqlite3`` connection sits in a reference cycle (its statement
    cache), so a dropped one would keep its page cache and files open until the cyclic
    garbage collector comes, which may be many runs later."""

    __slots__ = ("connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __del__(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # not its thread: the collector's
            self.connection.close()


class _SqliteDatabase(pw.SqliteDatabase):
    """``SqliteDatabase`` whose per-thread connections (a pass's workers write progress
    from threads that end with the pass) are closed when their thread ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holders = threading.local()

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        self._holders.holder = _ClosedWithThread(connection)
        return connection


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


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


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


__all__ = [
    "DRIVER_ERRORS",
    "DatabaseError",
    "DatabaseUnavailable",
    "NoDatabase",
    "open_database",
    "redact_url",
]
