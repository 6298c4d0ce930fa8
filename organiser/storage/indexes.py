"""The schema step that keeps the dashboard and the search fast at a million records: status
counts kept by triggers, and an index for each list filter.

* ``status_count``: records per status, kept by triggers on ``record`` for every write path
  (inserts, status changes, deletes). On SQLite one row per status, updated in place (SQLite
  has one writer at a time). On PostgreSQL the triggers only append signed rows, so
  concurrent transactions never wait on (or deadlock over) a shared counter row; the sum per
  status is the count, and :func:`organiser.storage.counts.status_counts` folds the rows
  together now and then.
* B-tree indexes for the status + last change (the oldest waiting record per status is one
  seek), the last change, node and submitter (lower-cased, as the filters compare), the
  failing records (partial), and the identifier and LID (lower-cased: exact and prefix
  wildcards; on PostgreSQL ``text_pattern_ops``, so ``LIKE 'abc%'`` is a range whatever
  the database's collation).
* Substrings (a title, an identifier wildcard that starts with ``*``): on SQLite an FTS5
  table with the trigram tokenizer (SQLite 3.34 on) over identifier and title, kept by
  triggers; on PostgreSQL ``pg_trgm`` GIN indexes on the lower-cased identifier and title
  (``CREATE EXTENSION pg_trgm``: a trusted extension since PostgreSQL 13, so the database's
  owner may create it). Without them (an older SQLite, no ``pg_trgm``) the same filters
  still work, by reading the table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import peewee as pw

#: The FTS5 table over identifier and title (SQLite only).
SEARCH_TABLE = "record_search"

_BOTH = (
    "CREATE INDEX IF NOT EXISTS record_status_updated ON record (status, updated_at)",
    "CREATE INDEX IF NOT EXISTS record_updated_at ON record (updated_at)",
    "CREATE INDEX IF NOT EXISTS record_lower_node ON record (lower(node))",
    "CREATE INDEX IF NOT EXISTS record_lower_submitter ON record (lower(submitter))",
    "CREATE INDEX IF NOT EXISTS record_failing ON record (id) WHERE last_error IS NOT NULL",
)
_SQLITE = (
    "CREATE INDEX IF NOT EXISTS record_lower_identifier ON record (lower(identifier))",
    "CREATE INDEX IF NOT EXISTS record_lower_lid ON record (lower(lid))",
    "CREATE TABLE IF NOT EXISTS status_count "
    "(status VARCHAR(255) NOT NULL PRIMARY KEY, records INTEGER NOT NULL)",
    "DELETE FROM status_count",
    "INSERT INTO status_count (status, records) SELECT status, COUNT(*) FROM record "
    "GROUP BY status",
    "CREATE TRIGGER IF NOT EXISTS status_count_insert AFTER INSERT ON record BEGIN "
    "INSERT INTO status_count (status, records) VALUES (new.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET records = records + 1; END",
    "CREATE TRIGGER IF NOT EXISTS status_count_delete AFTER DELETE ON record BEGIN "
    "UPDATE status_count SET records = records - 1 WHERE status = old.status; END",
    "CREATE TRIGGER IF NOT EXISTS status_count_update AFTER UPDATE OF status ON record "
    "WHEN old.status IS NOT new.status BEGIN "
    "UPDATE status_count SET records = records - 1 WHERE status = old.status; "
    "INSERT INTO status_count (status, records) VALUES (new.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET records = records + 1; END",
)
_SQLITE_SEARCH = (
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}",
    f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(identifier, title, content='record', "
    "content_rowid='id', tokenize='trigram', columnsize=0)",
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('rebuild')",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_insert AFTER INSERT ON record BEGIN "
    f"INSERT INTO {SEARCH_TABLE} (rowid, identifier, title) "
    "VALUES (new.id, new.identifier, new.title); END",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_delete AFTER DELETE ON record BEGIN "
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, identifier, title) "
    "VALUES ('delete', old.id, old.identifier, old.title); END",
    f"CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_update AFTER UPDATE OF identifier, title "
    "ON record WHEN old.identifier IS NOT new.identifier OR old.title IS NOT new.title BEGIN "
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, identifier, title) "
    "VALUES ('delete', old.id, old.identifier, old.title); "
    f"INSERT INTO {SEARCH_TABLE} (rowid, identifier, title) "
    "VALUES (new.id, new.identifier, new.title); END",
)
_POSTGRES = (
    "CREATE INDEX IF NOT EXISTS record_lower_identifier "
    "ON record (lower(identifier) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS record_lower_lid ON record (lower(lid) text_pattern_ops)",
    "CREATE TABLE IF NOT EXISTS status_count "
    "(status VARCHAR(255) NOT NULL, records BIGINT NOT NULL)",
    "LOCK TABLE record IN SHARE MODE",  # no writes between the count and the triggers
    "DELETE FROM status_count",
    "INSERT INTO status_count (status, records) SELECT status, COUNT(*) FROM record "
    "GROUP BY status",
    """CREATE OR REPLACE FUNCTION status_count_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO status_count (status, records)
            SELECT status, COUNT(*) FROM inserted GROUP BY status;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION status_count_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'UPDATE' THEN
            INSERT INTO status_count (status, records)
                VALUES (OLD.status, -1), (NEW.status, 1);
        ELSE
            INSERT INTO status_count (status, records) VALUES (OLD.status, -1);
        END IF;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS status_count_insert ON record",
    "CREATE TRIGGER status_count_insert AFTER INSERT ON record REFERENCING NEW TABLE AS "
    "inserted FOR EACH STATEMENT EXECUTE FUNCTION status_count_inserted()",
    "DROP TRIGGER IF EXISTS status_count_update ON record",
    "CREATE TRIGGER status_count_update AFTER UPDATE OF status ON record FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION status_count_changed()",
    "DROP TRIGGER IF EXISTS status_count_delete ON record",
    "CREATE TRIGGER status_count_delete AFTER DELETE ON record FOR EACH ROW "
    "EXECUTE FUNCTION status_count_changed()",
)
_POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS record_trgm_identifier "
    "ON record USING gin (lower(identifier) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS record_trgm_title ON record USING gin (lower(title) gin_trgm_ops)",
)


def is_sqlite(db: pw.Database) -> bool:
    """Tell whether ``db`` is SQLite (otherwise PostgreSQL)."""
    return isinstance(db, pw.SqliteDatabase)


def query_indexes(db: pw.Database) -> None:
    """The schema step: the status counts and their triggers (filled from the records there
    are), the filters' indexes and the substring search where the database offers it. Safe to
    run again. Raises the driver's error when the database refuses a statement (other than
    the substring search's, which is left out then)."""
    sqlite = is_sqlite(db)
    _run(db, _BOTH + (_SQLITE if sqlite else _POSTGRES))
    if "account" in {column.name for column in db.get_columns("record")}:
        _run(db, ("CREATE INDEX IF NOT EXISTS record_account ON record (account, status)",))
    # no FTS5 trigram / no pg_trgm: the filters read the table; the savepoint keeps the rest
    with contextlib.suppress(*_REFUSED), db.atomic():
        _run(db, _SQLITE_SEARCH if sqlite else _POSTGRES_SEARCH)


_REFUSED: tuple[type[Exception], ...] = (pw.OperationalError, pw.ProgrammingError)


def _run(db: pw.Database, statements: Sequence[str]) -> None:
    for statement in statements:
        db.execute_sql(statement)


def has_search(db: pw.Database) -> bool:
    """Tell whether the SQLite substring search table is there (PostgreSQL: False)."""
    if not is_sqlite(db):
        return False
    found = db.execute_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SEARCH_TABLE,)
    ).fetchone()
    return found is not None
