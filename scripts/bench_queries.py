"""Benchmark the reads of the dashboard, the list and each search filter over a large
database (1,000,000 records by default), on SQLite or PostgreSQL.

    .venv/bin/python scripts/bench_queries.py fill URL [--records N]
    .venv/bin/python scripts/bench_queries.py run URL [--repeat N] [--explain]
    .venv/bin/python scripts/bench_queries.py writes URL [--records N]   (empties URL)

``fill`` writes N realistic records (PDS LIDVIDs, titles, nodes, submitters, statuses and
dates; no history rows: no read here touches them) in bulk, once: a database that already
holds N records is kept, so one file or server database serves every later run. ``run`` opens
the database as organiser does (upgrading its schema in place: the first run after a schema
change times the migration too, printed), then times each read: the median (and the worst)
of N runs after one warm-up, with the cache warm. Each should be at most 0.3 s.

PostgreSQL: ``scripts/pg-test-server start DIR`` prints a URL (``stop DIR`` removes it).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from organiser.actions import records as read
from organiser.actions import status as status_action
from organiser.actions.records import RecordFilter
from organiser.storage import counts, runs
from organiser.storage.database import MIGRATIONS, open_database
from organiser.storage.models import MODELS, Record

PAGE = 51  # the API's default page of 50, and one more to know there is a next page
START = datetime(2020, 1, 1)
MISSIONS = (
    "insight cassini juno mro lro msl mars2020 maven odyssey phoenix dawn messenger galileo "
    "voyager1 voyager2 new_horizons rosetta ladee clementine mer mgs viking magellan lcross "
    "grail deep_impact stardust near pioneer ulysses hayabusa osiris_rex lucy psyche dart "
    "europa_clipper apollo kplo chandrayaan mariner9"
).split()
INSTRUMENTS = "cameras seis hp3 rise apss ctx hirise crism sharad lola lroc diviner mastcam".split()
COLLECTIONS = "data_raw data_calibrated data_derived browse document calibration geometry".split()
#: PDS nodes and how many of the records each holds (relative).
NODES = {"atm": 8, "geo": 30, "img": 35, "naif": 2, "ppi": 8, "rms": 7, "sbn": 9, "en": 1}
#: Statuses and how many records are in each (relative), as a long-running repository has.
STATUSES = {
    "registered": 8000,
    "reserved": 900,
    "imported": 500,
    "deleted": 150,
    "review": 80,
    "to-be-reserved": 150,
    "to-be-registered": 120,
    "update-registered": 60,
    "update-reserved": 20,
    "update-review": 10,
    "to-be-deleted": 5,
    "update-before-registration": 5,
    "adopted": 30,
}
WORDS = (
    "raw calibrated derived data products images spectra radiometric seismic wind pressure "
    "temperature surface atmosphere magnetic field orbit trajectory mosaics terrain "
    "reduced partially processed experiment archive collection bundle observations"
).split()


def _people(rng: random.Random) -> list[str]:
    names = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(80)]
    return [
        f"{n.capitalize() if i % 5 == 0 else n}@{rng.choice(list(NODES))}.pds.nasa.gov"
        for i, n in enumerate(names)
    ]


def rows(count: int, seed: int = 4711) -> Any:
    """Give ``count`` record rows (tuples in :data:`COLUMNS` order), oldest first."""
    rng = random.Random(seed)
    people = _people(rng)
    nodes, node_weights = list(NODES), list(NODES.values())
    statuses, status_weights = list(STATUSES), list(STATUSES.values())
    span = (datetime(2026, 11, 1) - START).total_seconds()
    for n in range(count):
        mission = MISSIONS[n * 7 // 1000 % len(MISSIONS)]
        instrument = INSTRUMENTS[n // 300 % len(INSTRUMENTS)]
        collection = COLLECTIONS[n // 50 % len(COLLECTIONS)]
        lid = f"urn:nasa:pds:{mission}_{instrument}:{collection}:{collection[:3]}_{n:07d}"
        version = f"{1 + n % 3}.{n % 2}"
        status = rng.choices(statuses, status_weights)[0]
        created = START + timedelta(seconds=span * n / count)
        updated = created + timedelta(days=rng.random() * 30)
        title = (
            f"{mission.replace('_', ' ').title()} {instrument.upper()} "
            f"{' '.join(rng.sample(WORDS, 3))} product {n:07d}"
        )
        attributes = {
            "titles": [{"title": title}],
            "creators": [{"name": "Deen, R."}, {"name": "Maki, J."}],
            "publisher": "NASA Planetary Data System",
            "publicationYear": str(created.year),
            "types": {"resourceTypeGeneral": "Dataset", "resourceType": "PDS4 Product"},
            "identifiers": [{"identifier": f"{lid}::{version}", "identifierType": "Site ID"}],
            "descriptions": [{"description": f"{title}. " * 3, "descriptionType": "Abstract"}],
        }
        failing = rng.random() < 0.003
        yield (
            f"10.17189/{n:07d}-{rng.randrange(36**4):04x}",
            True,
            f"{lid}::{version}",
            lid,
            title,
            status,
            "findable" if status == "registered" else "draft",
            json.dumps(attributes),
            f"https://pds.nasa.gov/ds-view/pds/viewBundle.jsp?identifier={lid}",
            rng.choices(nodes, node_weights)[0],
            rng.choice(people),
            created,
            updated,
            1 if failing else 0,
            "HTTP 422: the metadata does not validate" if failing else None,
        )


COLUMNS = (
    "doi doi_generated identifier lid title status remote_state attributes url node submitter "
    "created_at updated_at attempts last_error"
).split()


def fill(url: str, count: int) -> None:
    """Write ``count`` records into the database at ``url`` unless it holds them already."""
    db = open_database(url)
    have = Record.select().count()
    if have >= count:
        print(f"{url}: {have} records already", file=sys.stderr)
        return
    if have:
        raise SystemExit(f"{url} holds {have} records, not {count}: use a fresh database")
    started = time.perf_counter()
    marks = ", ".join([db.param] * len(COLUMNS))
    sql = f"INSERT INTO record ({', '.join(COLUMNS)}) VALUES ({marks})"
    batch: list[tuple[Any, ...]] = []
    for row in rows(count):
        batch.append(row)
        if len(batch) == 10000:
            _insert(db, sql, batch)
            batch = []
    if batch:
        _insert(db, sql, batch)
    if url.startswith("postgresql"):
        db.execute_sql("ANALYZE")
    print(f"{count} records in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _insert(db: Any, sql: str, batch: list[tuple[Any, ...]]) -> None:
    with db.atomic():
        cursor = db.cursor()
        if hasattr(cursor, "connection") and type(cursor).__module__.startswith("psycopg2"):
            from psycopg2.extras import execute_values

            execute_values(cursor, sql.split(" VALUES ")[0] + " VALUES %s", batch, page_size=1000)
        else:
            cursor.executemany(sql, batch)


def reads() -> dict[str, Callable[[], Any]]:
    """Give the timed reads by name: the dashboard's, then the list's."""
    now = datetime(2026, 11, 21)

    def page(**filters: Any) -> Callable[[], Any]:
        return lambda: read.listing(RecordFilter(**filters), PAGE)

    lidvid = _column(Record.identifier, 0.65)
    product = _column(Record.lid, 0.76).rsplit(":", 1)[-1]
    failing = Record.select(Record.id).where(Record.last_error.is_null(False))
    return {
        "dashboard: status counts": counts.status_counts,
        "dashboard: oldest waiting": counts.oldest_waiting,
        "dashboard: failing (count, first 50)": lambda: (
            failing.count(),
            list(failing.order_by(Record.id).limit(50)),
        ),
        "dashboard: last run": runs.last,
        "organiser status": lambda: status_action.status(now),
        "list: first page": page(),
        "status=registered": page(statuses=("registered",)),
        "status=to-be-deleted (rare)": page(statuses=("to-be-deleted",)),
        "node=naif": page(nodes=("naif",)),
        "node=img,geo": page(nodes=("img", "geo")),
        "submitter (any case)": page(submitters=(_a_submitter().upper(),)),
        "doi": page(dois=("https://doi.org/" + _column(Record.doi, 0.5).upper(),)),
        "ids: LIDVID": page(ids=(lidvid,)),
        "ids: LID (every version)": page(ids=(lidvid.split("::")[0],)),
        "ids: bundle:*": page(ids=(":".join(lidvid.split(":")[:4]) + ":*",)),
        "ids: *infix* (rare)": page(ids=("*" + product[2:-1] + "*",)),
        "ids: *infix* (none)": page(ids=("*no_such_bundle*",)),
        "title: common word": page(title="spectra"),
        "title: rare substring": page(title=f"product {product[-7:-1]}"),
        "title: none": page(title="xyzzy"),
        "since..until (one day)": page(since=date(2024, 6, 1), until=date(2024, 6, 1)),
        "since (last month)": page(since=date(2026, 11, 1)),
        "since (last year: 15%, at the end)": page(since=date(2025, 11, 1)),
        "ids: urn:nasa:pds:* (every record)": page(ids=("urn:nasa:pds:*",)),
        "title: two letters (no index)": page(title="ra"),
        "title: two letters, none (reads all)": page(title="qz"),
        "status=reserved, page at 900,000": lambda: read.listing(
            RecordFilter(statuses=("reserved",)), PAGE, 900_000
        ),
        "status+node+since": page(statuses=("reserved",), nodes=("atm",), since=date(2025, 1, 1)),
    }


def _a_submitter() -> str:
    return _column(Record.submitter, 0.3)


def _column(column: Any, where: float) -> str:
    """Give ``column`` of the record ``where`` (0..1) of the way through the ids."""
    top = Record.select(Record.id).order_by(Record.id.desc()).scalar() or 0
    return Record.select(column).where(Record.id >= int(top * where)).limit(1).scalar() or "x"


def measure(url: str, repeat: int, explain: bool) -> None:
    """Open ``url`` (timing any schema upgrade) and print the median and worst of each read."""
    started = time.perf_counter()
    db = open_database(url)
    print(f"open (and upgrade): {time.perf_counter() - started:.2f} s")
    print(f"records: {Record.select().count()}, {db.__class__.__name__}")
    print(f"{'read':40} {'median ms':>10} {'worst ms':>9} {'rows':>5}")
    for name, call in reads().items():
        got = call()
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        size = len(got) if isinstance(got, list | dict) else ""
        flag = "" if statistics.median(times) <= 0.3 else "  > 0.3 s"
        print(
            f"{name:40} {statistics.median(times) * 1000:10.1f} {max(times) * 1000:9.1f} "
            f"{size!s:>5}{flag}"
        )
    if explain:
        _explain(db)


def _explain(db: Any) -> None:
    """Print the plan of each list read (the statements the reads send)."""
    sent: list[tuple[str, Any]] = []
    original = db.execute_sql

    def spy(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        sent.append((sql, params))
        return original(sql, params, *args, **kwargs)

    db.execute_sql = spy
    try:
        for name, call in reads().items():
            sent.clear()
            call()
            print(f"-- {name}")
            for sql, params in list(sent):
                prefix = "EXPLAIN QUERY PLAN " if "Sqlite" in type(db).__name__ else "EXPLAIN "
                for row in original(prefix + sql, params).fetchall():
                    print("   ", row[-1])
    finally:
        db.execute_sql = original


def writes(url: str, count: int) -> None:
    """Print what the v9 triggers and indexes cost writers: ``count`` records inserted
    (10,000 a transaction) and as many status changes (one statement a record, 1,000 a
    transaction), into an emptied database at schema v8 and at v9. Empties ``url``."""
    print(f"{'schema':8} {'insert/s':>10} {'status changes/s':>17}")
    for version in (len(MIGRATIONS) - 1, len(MIGRATIONS)):
        db = open_database(url)
        db.drop_tables(list(MODELS))
        for table in ("status_count", "record_search"):
            db.execute_sql(f"DROP TABLE IF EXISTS {table}")
        db.close()
        db = open_database(url, MIGRATIONS[:version])
        marks = ", ".join([db.param] * len(COLUMNS))
        sql = f"INSERT INTO record ({', '.join(COLUMNS)}) VALUES ({marks})"
        batch = list(rows(count))
        started = time.perf_counter()
        for first in range(0, count, 10_000):
            _insert(db, sql, batch[first : first + 10_000])
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        for first in range(1, count + 1, 1000):
            with db.atomic():
                for record_id in range(first, min(first + 1000, count + 1)):
                    status = "reserved" if record_id % 2 else "registered"
                    Record.update(status=status).where(Record.id == record_id).execute()
        changed = time.perf_counter() - started
        print(f"v{version:<7} {count / inserted:10.0f} {count / changed:17.0f}")
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("fill", "run", "writes"))
    parser.add_argument("url")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if args.command == "fill":
        fill(args.url, args.records)
    elif args.command == "writes":
        writes(args.url, args.records)
    else:
        measure(args.url, args.repeat, args.explain)


if __name__ == "__main__":
    main()
