"""Claims under concurrency and at scale (organiser.storage.claims): runs claiming at once
split the queue and never stop while due records are left; what an idle run asks the
database is answered from indexes, never by reading the whole ``record`` table; schema v4
adds the claim-owner index. SQLite, and PostgreSQL when ORGANISER_TEST_POSTGRES_URL names a
throw-away database."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from organiser.actions import run as run_action
from organiser.app import App
from organiser.domain.passes import ORDER
from organiser.domain.states import Action, State
from organiser.engine.stop import StopFlag
from organiser.standin import StandinServer
from organiser.storage import claims
from organiser.storage.database import MIGRATIONS, open_database
from organiser.storage.models import (
    CLAIM_OWNER_INDEX,
    MODELS,
    Notice,
    Record,
    SchemaVersion,
    database_proxy,
)

from conftest import PASSWORD, PG_URL, PREFIX, USER

NOW = datetime(2026, 11, 21, 12, 0, 0)
CLAIM = timedelta(minutes=15)
RESERVE = [State.TO_BE_RESERVED]
#: Settled records behind the queue: enough that PostgreSQL's planner, with statistics,
#: prefers an index to reading the table whenever it can use one.
SETTLED = 20_000

needs_postgres = pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set")


def _insert(
    count: int, status: State = State.TO_BE_RESERVED, start: int = 0, **fields: Any
) -> None:
    """Insert ``count`` records straight into the table (no history), in id order."""
    rows = [
        {
            "doi": f"{PREFIX}/c-{status}-{n:06d}",
            "identifier": f"urn:t:{status}:{n}",
            "lid": f"urn:t:{status}:{n}",
            "title": f"t {n}",
            "status": str(status),
            "attributes": "{}",
            "created_at": NOW,
            "updated_at": NOW,
            **fields,
        }
        for n in range(start, start + count)
    ]
    with database_proxy.atomic():
        for first in range(0, len(rows), 1000):
            Record.insert_many(rows[first : first + 1000]).execute()


def _due_ids() -> list[int]:
    return [r.id for r in claims.due(RESERVE, 0, 10_000, NOW)]


# -- runs claiming at once ---------------------------------------------------------------------


def test_claimers_started_together_each_take_a_share_and_stop_only_when_none_is_due(
    db: str,
) -> None:
    _insert(400)
    started = threading.Barrier(4)
    got: dict[str, list[int]] = {}
    premature: list[str] = []

    def organiser(owner: str) -> None:
        Record.select().count()  # this thread's connection is open before the start
        started.wait()
        ids: list[int] = []
        after = 0
        while batch := claims.claim_batch(RESERVE, owner, after, 10, NOW, CLAIM):
            ids += [r.id for r in batch]
            after = batch[-1].id
            # the records' requests to DataCite (long enough that a claimer held up by a busy
            # machine still finds records left when it gets to claim)
            time.sleep(0.02)
        # the pass ends: no due record with a higher id may be left (locks taken to wait for
        # claims under way, so that what they claim is not counted)
        with database_proxy.atomic():
            left = (
                Record.select(Record.id)
                .where(
                    Record.status.in_(RESERVE)
                    & (Record.id > after)
                    & (Record.claim_owner.is_null() | (Record.claim_expires_at < NOW))
                )
                .limit(1)
            )
            if not isinstance(database_proxy.obj, pw.SqliteDatabase):
                left = left.for_update()
            premature.extend(f"{owner} left record {r.id}" for r in left)
        got[owner] = ids
        database_proxy.close()  # peewee gave this thread a connection of its own

    threads = [threading.Thread(target=organiser, args=(f"host{n}:1:x",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in got.values() for i in ids]
    assert sorted(claimed) == sorted(set(claimed))  # nobody got a record twice
    assert len(claimed) == 400
    assert not premature
    assert all(got.values()), {owner: len(ids) for owner, ids in got.items()}  # each a share


@needs_postgres
def test_a_claim_passes_over_rows_another_run_is_claiming_without_waiting(pg: str) -> None:
    _insert(20)
    ids = sorted(_all_ids())
    with _other_transaction(pg) as other:  # another host's run, claiming the first ten
        other.execute(
            "UPDATE record SET claim_owner = 'otherhost:1:x', claim_expires_at = %s "
            "WHERE id = ANY(%s)",
            (NOW + CLAIM, ids[:10]),
        )
        claimer, result = _claiming("here:1:x", 0, 5)
        claimer.join(5)
        waited = claimer.is_alive()
    claimer.join(10)
    assert not waited  # it did not wait for the other run to commit
    assert result == [ids[10:15]]


@needs_postgres
def test_a_claim_waits_for_rows_a_mark_holds_rather_than_end_the_pass(pg: str) -> None:
    _insert(6)
    with _other_transaction(pg) as other:  # e.g. `organiser update` holding the rows a moment
        other.execute("SELECT id FROM record FOR UPDATE")
        claimer, result = _claiming("here:1:x", 0, 4)
        claimer.join(0.5)
        assert claimer.is_alive()  # waiting: every due row is locked, none is claimed yet
    claimer.join(10)
    assert result == [sorted(_all_ids())[:4]]  # the mark left them due: claimed, not passed by


@needs_postgres
def test_a_claim_gives_nothing_once_the_locked_rows_were_claimed_by_another_run(pg: str) -> None:
    _insert(3)
    with _other_transaction(pg) as other:
        other.execute(
            "UPDATE record SET claim_owner = 'otherhost:1:x', claim_expires_at = %s", (NOW + CLAIM,)
        )
        claimer, result = _claiming("here:1:x", 0, 10)
        claimer.join(0.3)
        assert claimer.is_alive()
    claimer.join(10)
    assert result == [[]]


def _claiming(owner: str, after: int, limit: int) -> tuple[threading.Thread, list[list[int]]]:
    """Start a claim in a thread of its own (its own connection); give the thread and the
    list the claimed ids will be put in."""
    result: list[list[int]] = []
    claimer = threading.Thread(
        target=_claim_in_thread, args=(result, owner, after, limit), daemon=True
    )
    claimer.start()
    return claimer, result


def _claim_in_thread(result: list[list[int]], owner: str, after: int, limit: int) -> None:
    result.append([r.id for r in claims.claim_batch(RESERVE, owner, after, limit, NOW, CLAIM)])
    database_proxy.close()


def _all_ids() -> list[int]:
    return [r.id for r in Record.select(Record.id)]


@contextmanager
def _other_transaction(url: str) -> Iterator[Any]:
    """A second connection (another host's organiser, or a mark) with a transaction open for
    the duration of the block, then committed."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def test_dead_claims_are_freed_for_this_host_only(db: str) -> None:
    _insert(5)
    ids = sorted(_all_ids())
    owners = ["box:101:a", "box:102:b", "box10:101:c", "box:103:e", "other:101:f"]
    for record_id, owner in zip(ids, owners, strict=True):
        Record.update(claim_owner=owner, claim_expires_at=NOW + CLAIM).where(
            Record.id == record_id
        ).execute()
    assert claims.release_dead_claims("box", lambda pid: pid == 102) == 2  # 101 and 103
    held = {r.claim_owner for r in Record.select() if r.claim_owner}
    assert held == {"box:102:b", "box10:101:c", "other:101:f"}


# -- an idle run reads no whole table ------------------------------------------------------------


@pytest.mark.slow
def test_an_idle_run_reads_records_only_through_indexes(
    db: str, standin: StandinServer, tmp_path: Path
) -> None:
    _settled_database()
    statements = _idle_run(db, standin, tmp_path)
    assert any("claim_owner" in sql for sql, _ in statements)  # the queries in question ran
    assert _unindexed(statements) == []


@pytest.mark.slow
def test_claiming_and_settling_read_records_only_through_indexes(db: str) -> None:
    _settled_database()
    _insert(5, start=100)
    owner = "here:1:x"
    with _captured() as statements:
        batch = claims.claim_batch(RESERVE, owner, 0, 3, NOW, CLAIM)
        claims.note_progress(batch[0], owner, "draft", batch[0].doi)
        claims.finish(batch[0], owner, Action.RESERVED, "t", NOW, "draft", "ok")
        claims.fail(batch[1], owner, "503", NOW, NOW + CLAIM)
        claims.release_one(batch[2], owner)
        claims.claim_batch(RESERVE, owner, batch[-1].id, 3, NOW, CLAIM)
        claims.release(owner)
        claims.claim_batch(RESERVE, owner, 10**9, 3, NOW, CLAIM)  # nothing left after that id
        claims.due(RESERVE, 0, 10, NOW)
    assert len(batch) == 3
    assert _unindexed(statements) == []


@pytest.mark.slow
def test_the_plan_check_notices_a_missing_index(
    db: str, standin: StandinServer, tmp_path: Path
) -> None:
    _settled_database()
    database_proxy.obj.execute_sql(f"DROP INDEX {CLAIM_OWNER_INDEX}")
    try:
        unindexed = _unindexed(_idle_run(db, standin, tmp_path))
    finally:
        Record._schema.create_indexes(safe=True)
    # freeing dead claims (SELECT DISTINCT claim_owner) and releasing this run's claims
    assert len(unindexed) == 2, unindexed
    assert all("claim_owner" in sql for sql, _ in unindexed)


def _settled_database() -> None:
    """Many settled records, a few waiting or claimed ones, notices: what an idle run meets."""
    _insert(SETTLED, State.REGISTERED, remote_state="findable")
    _insert(3, State.TO_BE_RESERVED, next_attempt_at=NOW + timedelta(days=1), attempts=1)
    _insert(2, State.UPDATE_REGISTERED, claim_owner="otherhost:7:x", claim_expires_at=NOW + CLAIM)
    _insert(2, State.RESERVED, claim_owner="otherhost:8:y", claim_expires_at=NOW - CLAIM)
    failing = Record.select(Record.id).where(Record.status == State.TO_BE_RESERVED)
    for record in failing:
        Notice.create(key=f"record:{record.id}", fingerprint="x", detail="{}", sent=True, at=NOW)
    db = database_proxy.obj
    if not isinstance(db, pw.SqliteDatabase):
        db.execute_sql("ANALYZE")  # as autovacuum would have by now


def _idle_run(url: str, standin: StandinServer, tmp_path: Path) -> list[tuple[str, Any]]:
    """Give the statements of `organiser -u -s -r -d` with nothing due, run in-process."""
    config = tmp_path / "idle.ini"
    config.write_text(
        f"[datacite]\nurl = {standin.url}\nusername = {USER}\nprefix = {PREFIX}\n"
        f"[database]\nurl = {url}\n[organiser]\nstate_dir = {tmp_path / 'state'}\n"
    )
    app = App(str(config), {"ORGANISER_DATACITE_PASSWORD": PASSWORD})
    app.clock = lambda: NOW
    app.open_db()
    with _captured() as statements:
        outcome = run_action.run_passes(app, list(ORDER), "organiser -u -s -r -d", StopFlag())
    assert [(p.name, p.done, p.failed) for p in outcome.result.passes] == [
        (name, 0, 0) for name in ORDER
    ]
    assert standin.datacite.seen == []
    return statements


@contextmanager
def _captured() -> Iterator[list[tuple[str, Any]]]:
    """Record every statement sent to the database inside the block (all threads)."""
    db = database_proxy.obj
    original = db.execute_sql
    seen: list[tuple[str, Any]] = []

    def execute_sql(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        seen.append((sql, params))
        return original(sql, params, *args, **kwargs)

    db.execute_sql = execute_sql
    try:
        yield seen
    finally:
        del db.execute_sql


#: Statements allowed to read a whole (small) table: the alerts' "which notices are about
#: records" reads every record notice by design (one per failing record, not per record).
EXEMPT: list[Callable[[str], bool]] = [
    lambda sql: 'FROM "notice"' in sql and "LIKE" in sql,
    # the binding in force: the last row by primary key (SQLite's plan says SCAN, but walks
    # the table's own id b-tree from its end and stops after one row)
    lambda sql: 'FROM "binding"' in sql and 'ORDER BY "t1"."id" DESC LIMIT' in sql,
]


def _unindexed(statements: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """Give the statements whose plan reads a table without an index, with the plan.

    ``record`` is judged on the plan the database chooses (it holds enough rows, with
    statistics on PostgreSQL); ``run`` and ``notice`` stay small, so there the question is
    whether the database *can* use an index (PostgreSQL: sequential scans switched off).
    """
    db = database_proxy.obj
    found = []
    for sql, params in statements:
        if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)\b", sql, re.IGNORECASE):
            continue
        if any(exempt(sql) for exempt in EXEMPT):
            continue
        if isinstance(db, pw.SqliteDatabase):
            plan = [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
            scans = [line for line in plan if re.match(r"SCAN (TABLE )?\w+( |$)", line)]
        else:
            plan, scans = _postgres_plan(db, sql, params)
        if scans:
            found.append((sql, plan))
    return found


def _postgres_plan(db: pw.Database, sql: str, params: Any) -> tuple[list[str], list[str]]:
    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    def explain() -> list[dict[str, Any]]:
        [(document,)] = db.execute_sql("EXPLAIN (FORMAT JSON) " + sql, params).fetchall()
        return list(nodes(document[0]["Plan"]))

    chosen = explain()
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")
        possible = explain()
    plan = [f"{n['Node Type']} {n.get('Relation Name', '')}".strip() for n in chosen]
    scans = [
        f"Seq Scan on {n['Relation Name']}"
        for n in chosen
        if n["Node Type"] == "Seq Scan" and n["Relation Name"] == "record"
    ] + [
        f"Seq Scan on {n['Relation Name']} (even with sequential scans off)"
        for n in possible
        if n["Node Type"] == "Seq Scan"
    ]
    return plan, scans


# -- schema v4 ---------------------------------------------------------------------------------


def test_a_version_3_database_gains_the_claim_owner_index(db: str) -> None:
    database = database_proxy.obj
    database.drop_tables(list(MODELS))
    open_database(db, MIGRATIONS[:3])  # a version 3 database, as organiser 3 left it
    database_proxy.obj.execute_sql(f"DROP INDEX {CLAIM_OWNER_INDEX}")
    _insert(3)
    Record.update(claim_owner="h:1:x").where(Record.id == min(_all_ids())).execute()
    assert CLAIM_OWNER_INDEX not in _indexes()
    database_proxy.obj.close()

    open_database(db)
    assert SchemaVersion.get().version == len(MIGRATIONS) >= 4  # v4 and any later step
    [index] = [i for i in database_proxy.obj.get_indexes("record") if i.name == CLAIM_OWNER_INDEX]
    assert index.columns == ["claim_owner"]
    assert re.search(r"WHERE \(?\"?claim_owner\"? IS NOT NULL\)?", index.sql, re.IGNORECASE)
    assert [r.claim_owner for r in Record.select().order_by(Record.id)] == ["h:1:x", None, None]


def test_an_upgrade_to_version_4_keeps_an_index_already_there(db: str) -> None:
    database_proxy.obj.drop_tables(list(MODELS))
    open_database(db, MIGRATIONS[:3])  # the first step already made it from the models
    assert CLAIM_OWNER_INDEX in _indexes()
    database_proxy.obj.close()
    open_database(db)
    assert SchemaVersion.get().version == len(MIGRATIONS) and CLAIM_OWNER_INDEX in _indexes()


def _indexes() -> set[str]:
    return {index.name for index in database_proxy.obj.get_indexes("record")}
