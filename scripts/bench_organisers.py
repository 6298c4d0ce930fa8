"""Benchmark several organisers sharing one PostgreSQL database (benchmark 6 of BENCHMARKS.md).

    .venv/bin/python scripts/bench_organisers.py --postgres URL [RECORDS] [--organisers 1,4]
        [--latency S] [--workers N]

For each organiser count: empty the database, insert RECORDS records marked to-be-reserved,
start that many ``organiser -s`` commands as if on as many hosts (a state directory, so a run
lock, of their own), hold them at their first claim and release them together, then time
them until the last one ends. The stand-in runs in this process, so its request log shows
whether any record was sent more than once. ``URL`` is a PostgreSQL database that may be
emptied (e.g. from ``scripts/pg-test-server start DIR``).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg2

from organiser import logs
from organiser.standin import DataCite, Faults, StandinServer
from organiser.storage.database import open_database
from organiser.storage.models import MODELS, Record

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_passes import insert_records  # a sibling script, not a package

ORGANISER = Path(sys.executable).with_name("organiser")
DONE = re.compile(r"^reserve: (\d+) done, (\d+) failed, (\d+) skipped$", re.M)


def fill(url: str, count: int) -> list[str]:
    """Empty the database at ``url`` and mark ``count`` records; give their DOIs."""
    database = open_database(url)
    database.drop_tables(list(MODELS))
    database.close()
    database = open_database(url)
    insert_records(count)
    dois = [r.doi for r in Record.select(Record.doi)]
    database.close()
    return dois


def write_config(folder: Path, url: str, server: StandinServer, workers: int) -> Path:
    config = folder / "organiser.ini"
    config.write_text(
        f"[datacite]\nurl = {server.url}\nusername = BENCH\nprefix = 10.5072\n"
        f"workers = {workers}\nrate_limit = 0\ntimeout = 10\n"
        f"[database]\nurl = {url}\n[organiser]\nbatch_size = 100\n"
    )
    return config


def waiting_for_locks(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def run(url: str, count: int, organisers: int, args: argparse.Namespace) -> None:
    server = StandinServer(DataCite({"BENCH": ("pw", ["10.5072"])})).start()
    try:
        server.datacite.set_faults(Faults(latency=args.latency))
        dois = fill(url, count)
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), url, server, args.workers)
            gate, watch = psycopg2.connect(url), psycopg2.connect(url)
            watch.autocommit = True
            with gate.cursor() as cursor:  # writes and row locks wait; plain reads go on
                cursor.execute("LOCK TABLE record IN EXCLUSIVE MODE")
            processes = []
            for n in range(organisers):
                environ = {k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_")}
                environ.update(
                    ORGANISER_CONFIG=str(config),
                    ORGANISER_DATACITE_PASSWORD="pw",
                    ORGANISER_ORGANISER_STATE_DIR=f"{tmp}/host{n}",
                )
                processes.append(
                    subprocess.Popen(
                        [str(ORGANISER), "-s"],
                        env=environ,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            while waiting_for_locks(watch) < organisers:
                time.sleep(0.02)
            started = time.perf_counter()
            gate.commit()
            outputs = [p.communicate() for p in processes]
            elapsed = time.perf_counter() - started
            gate.close()
            watch.close()
        shares = []
        for process, (out, err) in zip(processes, outputs, strict=True):
            match = DONE.search(out)
            if process.returncode != 0 or not match:
                raise SystemExit(f"an organiser failed ({process.returncode}):\n{out}{err}")
            shares.append(int(match.group(1)))
        seen = server.datacite.seen
        created = Counter(s.doi for s in seen if s.method == "POST" and s.status == 201)
        sent = Counter(s.doi for s in seen)
        once = created == Counter(dois) and sent == Counter(dois)
        print(
            f"  {organisers} organiser(s) x {args.workers} workers: {count:,} records in "
            f"{elapsed:.1f} s ({count / elapsed:.0f} DOIs/s); shares "
            f"{'/'.join(map(str, shares))}; {len(seen):,} requests; "
            f"{'each record sent exactly once' if once else 'SENT TWICE OR MISSED'}"
        )
        if not once:
            twice = [doi for doi, n in sent.items() if n > 1]
            raise SystemExit(
                f"records sent more than once: {twice[:10]}; missing: {len(set(dois) - set(sent))}"
            )
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL", required=True, help="a database to empty")
    parser.add_argument("--organisers", default="1,4", help="counts to compare (default 1,4)")
    parser.add_argument("--latency", type=float, default=0.1, help="stand-in delay per request")
    parser.add_argument("--workers", type=int, default=8, help="workers per organiser")
    args = parser.parse_args()
    logs.setup(logging.ERROR)
    print(
        f"reserve pass, {args.records:,} records, {args.latency * 1000:.0f} ms stand-in "
        "latency, no rate limit (each organiser stands for a host with a limit of its own):"
    )
    for organisers in (int(n) for n in args.organisers.split(",")):
        run(args.postgres, args.records, organisers, args)


if __name__ == "__main__":
    main()
