"""Benchmark: what an organiser run costs when nothing is due, over a large database of
settled records (every cron, timer or daemon tick of a quiet repository).

    .venv/bin/python scripts/bench_idle.py [RECORDS] [--postgres URL] [--no-sqlite]
        [--without-index] [--repeat N] [--dir DIR] [--explain]

RECORDS (default 1,000,000) settled records (90 % registered, 8 % reserved, 2 % deleted, with
real-sized DataCite metadata) are written straight into the database with bulk inserts
(SQLite: ``executemany`` in one transaction; PostgreSQL: ``COPY``), the secondary indexes
built afterwards, as intake would have left them. A database that already holds RECORDS
records (SQLite: ``--dir``; PostgreSQL: the URL's) is reused; opening it upgrades its schema if
it is older (the time this takes is shown); one that holds other records is refused, never
emptied. Then, on SQLite and, with ``--postgres``, on PostgreSQL:

- the pass time: the run sequence of ``organiser -u -s -r -d`` in-process
  (``organiser.actions.run.run_passes``: run lock, freeing dead claims, the four passes, the
  run log, alerts), then its parts, each the median of ``--repeat`` runs; and the statements
  one run sends, slowest first (``--explain``: all of them, with their query plans);
- the whole command ``organiser -u -s -r -d -q`` as a subprocess, and ``organiser -V`` (the
  interpreter and imports alone) to tell process start-up from the pass.

``--without-index`` drops the claim-owner index (``record_claim_owner``, schema v4) for the
measurement and builds it again at the end, to show what it saves. A DataCite stand-in runs so
that the run has somewhere to send to; an empty run sends it nothing (checked).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee as pw
from playhouse.db_url import connect

from organiser import logs
from organiser.actions import run as run_action
from organiser.app import App, utcnow
from organiser.domain.passes import ORDER
from organiser.engine.stop import StopFlag
from organiser.standin import DataCite, StandinServer
from organiser.storage import claims, notices, runs
from organiser.storage.database import open_database
from organiser.storage.models import MODELS, Record

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests/data/datacite/findable_sbn_arecibo_radar_related_identifier.json"
ORGANISER = Path(sys.executable).with_name("organiser")
USER, PASSWORD, PREFIX = "BENCH.IDLE", "bench-password", "10.5072"
CLAIM_OWNER_INDEX = "record_claim_owner"  # schema v4 (organiser.storage.models)
COLUMNS = (
    "doi",
    "doi_generated",
    "identifier",
    "lid",
    "title",
    "status",
    "remote_state",
    "attributes",
    "url",
    "node",
    "created_at",
    "updated_at",
    "attempts",
)
MARKED = "2026-01-15 09:30:00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="also measure this PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument(
        "--without-index", action="store_true", help="drop the claim-owner index while measuring"
    )
    parser.add_argument("--repeat", type=int, default=20, help="in-process runs (default 20)")
    parser.add_argument("--commands", type=int, default=5, help="whole commands (default 5)")
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the SQLite database here")
    parser.add_argument(
        "--explain", action="store_true", help="show every statement, with its query plan"
    )
    args = parser.parse_args()
    logs.setup(logging.ERROR)

    server = StandinServer(DataCite({USER: (PASSWORD, [PREFIX])})).start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        urls = [] if args.no_sqlite else [f"sqlite:///{folder / 'idle.db'}"]
        urls += [args.postgres] if args.postgres else []
        for url in urls:
            build(url, args.records)
            measure(url, args, server, Path(tmp))
    server.shutdown()


# -- building ---------------------------------------------------------------------------------


def build(url: str, count: int) -> None:
    """Fill ``url`` with ``count`` settled records unless it already holds them."""
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    version = _schema_version(url)
    started = time.perf_counter()
    db = open_database(url)
    opened = time.perf_counter() - started
    after = _schema_version(url)
    held = Record.select().count()
    if held == count:
        note = f", schema v{version} -> v{after}" if version != after else ""
        print(f"\n{kind}: reusing {count:,} records (opened in {opened:.2f} s{note})")
        db.close()
        return
    strangers = Record.select().where(~Record.doi.startswith(f"{PREFIX}/bench-")).exists()
    if strangers:  # never empty a database that is not the benchmark's
        raise SystemExit(f"{url}: holds records this benchmark did not write; give another")
    print(f"\n{kind}: building {count:,} settled records ...", flush=True)
    started = time.perf_counter()
    db.drop_tables(list(MODELS))
    db.close()
    db = open_database(url)
    indexes = [i.name for i in db.get_indexes("record") if not i.sql.startswith("CREATE UNIQUE")]
    for name in indexes:  # built afterwards, from sorted data: much faster
        db.execute_sql(f'DROP INDEX "{name}"')
    if isinstance(db, pw.SqliteDatabase):
        _insert_sqlite(db, count)
    else:
        _copy_postgres(db, count)
    inserted = time.perf_counter() - started
    Record._schema.create_indexes(safe=True)
    if isinstance(db, pw.SqliteDatabase):
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:  # what autovacuum would have done by the next run
        db.close()
        raw = connect(url)
        raw.connect()
        raw.connection().autocommit = True
        raw.execute_sql("VACUUM ANALYZE")
        raw.close()
    print(
        f"{kind}: built in {time.perf_counter() - started:.0f} s "
        f"(rows {inserted:.0f} s, indexes {time.perf_counter() - started - inserted:.0f} s)"
    )
    open_database(url).close()


def _rows(count: int) -> Iterator[tuple[Any, ...]]:
    attributes = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in ("doi", "prefix", "suffix", "state", "xml", "created", "updated", "url"):
        attributes.pop(key, None)
    attributes["titles"] = [{"title": "@TITLE@"}]
    attributes["identifiers"] = [{"identifier": "@ID@", "identifierType": "PDS4 LIDVID"}]
    text = json.dumps(attributes, ensure_ascii=False)
    for n in range(1, count + 1):
        lid = f"urn:nasa:pds:bench_{n:07d}"
        identifier = f"{lid}::1.0"
        title = f"Bench bundle {n}"
        status, remote = "registered", "findable"
        if n % 50 == 0:
            status, remote = "deleted", None
        elif n % 12 == 0:
            status, remote = "reserved", "draft"
        yield (
            f"{PREFIX}/bench-{n:07d}",
            1,
            identifier,
            lid,
            title,
            status,
            remote,
            text.replace("@TITLE@", title).replace("@ID@", identifier),
            f"https://pds.example.org/{n}",
            "img",
            MARKED,
            MARKED,
            0,
        )


def _insert_sqlite(db: pw.Database, count: int) -> None:
    marks = ", ".join("?" for _ in COLUMNS)
    sql = f"INSERT INTO record ({', '.join(COLUMNS)}) VALUES ({marks})"
    with db.atomic():
        db.connection().executemany(sql, _rows(count))


def _copy_postgres(db: pw.Database, count: int) -> None:
    rows = _rows(count)
    sql = f"COPY record ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
    with db.atomic():
        cursor = db.cursor()
        while True:
            chunk = io.StringIO()
            writer = csv.writer(chunk)
            written = 0
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                written += 1
                if written == 50_000:
                    break
            if not written:
                break
            chunk.seek(0)
            cursor.copy_expert(sql, chunk)


def _schema_version(url: str) -> int | None:
    raw = connect(url)
    try:
        return raw.execute_sql("SELECT version FROM schema_version").fetchone()[0]
    except pw.DatabaseError:
        return None
    finally:
        raw.close()


# -- measuring --------------------------------------------------------------------------------


def measure(url: str, args: argparse.Namespace, server: StandinServer, tmp: Path) -> None:
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    config = tmp / f"{kind}.ini"
    config.write_text(
        f"[datacite]\nurl = {server.url}\nusername = {USER}\nprefix = {PREFIX}\n"
        f"[database]\nurl = {url}\n[organiser]\nstate_dir = {tmp / kind}\n"
    )
    app = App(str(config), {"ORGANISER_DATACITE_PASSWORD": PASSWORD})
    app.open_db()
    db = Record._meta.database.obj
    dropped = args.without_index and any(
        i.name == CLAIM_OWNER_INDEX for i in db.get_indexes("record")
    )
    if dropped:
        db.execute_sql(f'DROP INDEX "{CLAIM_OWNER_INDEX}"')
    label = "without the claim-owner index" if args.without_index else "as it is"
    print(f"\n{kind}, {Record.select().count():,} records, {label}:")
    try:
        _in_process(app, args.repeat, args.explain)
        _commands(config, args.commands)
    finally:
        if dropped:
            Record._schema.create_indexes(safe=True)
    sent = len(server.datacite.seen)
    print(f"  requests to the stand-in: {sent}")
    db.close()


def _in_process(app: App, repeat: int, explain: bool) -> None:
    names = list(ORDER)
    organiser = app.organiser("organiser bench")

    def run_sequence() -> None:
        run_action.run_passes(app, names, "organiser bench", StopFlag())

    def run_log() -> None:
        runs.finish(runs.start(app.host, "bench", utcnow()), utcnow(), "ok", {}, None)

    parts: list[tuple[str, Callable[[], Any]]] = [
        ("run sequence (run_passes), in all", run_sequence),
        ("  free dead claims (release_dead_claims)", lambda: _free(app)),
        ("  four passes (Organiser.run)", lambda: organiser.run(names)),
        ("  run log (run table insert + update)", run_log),
        ("  alerts' notices (notices.update)", lambda: notices.update([], None, False, utcnow())),
    ]
    run_sequence()  # warm: connection, caches
    for title, call in parts:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {title:<44} median {statistics.median(times):7.1f} ms, min {min(times):7.1f}")
    with _traced(app) as statements:
        run_sequence()
    print("  statements of one run, slowest first:")
    shown = sorted(statements, key=lambda s: -s[2])
    for sql, params, ms in shown if explain else shown[:12]:
        print(f"    {ms:7.2f} ms  {_short(sql)}")
        if explain:
            for line in _plan(sql, params):
                print(f"               {line}")


def _free(app: App) -> int:
    return claims.release_dead_claims(app.host, lambda pid: True)


@contextmanager
def _traced(app: App) -> Iterator[list[tuple[str, Any, float]]]:
    """Record each statement the database runs, with its parameters and time."""
    db = Record._meta.database.obj
    original = db.execute_sql
    seen: list[tuple[str, Any, float]] = []

    def execute_sql(sql: str, params: Any = None, *rest: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(sql, params, *rest, **kw)
        finally:
            seen.append((sql, params, (time.perf_counter() - started) * 1000))

    db.execute_sql = execute_sql
    try:
        yield seen
    finally:
        del db.execute_sql


def _plan(sql: str, params: Any) -> list[str]:
    if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
        return []
    db = Record._meta.database.obj
    if isinstance(db, pw.SqliteDatabase):
        rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [row[-1] for row in rows]
    return [row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall()]


def _short(sql: str) -> str:
    text = " ".join(sql.split()).replace('"', "")
    return text if len(text) <= 150 else text[:147] + "..."


def _commands(config: Path, repeat: int) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_")}
    environ.update(ORGANISER_CONFIG=str(config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
    for title, argv in (
        ("organiser -u -s -r -d -q (whole command)", ["-u", "-s", "-r", "-d", "-q"]),
        ("organiser -V (start-up alone)", ["-V"]),
    ):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            done = subprocess.run(
                [str(ORGANISER), *argv], env=environ, capture_output=True, text=True, check=False
            )
            times.append((time.perf_counter() - started) * 1000)
            if done.returncode != 0:
                raise SystemExit(f"{title}: exit {done.returncode}: {done.stderr.strip()}")
        print(f"  {title:<44} median {statistics.median(times):7.1f} ms, min {min(times):7.1f}")


if __name__ == "__main__":
    main()
