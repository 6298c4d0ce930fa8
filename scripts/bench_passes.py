"""Benchmark the passes against the stand-in on 127.0.0.1 (real HTTP), in-process.

    .venv/bin/python scripts/bench_passes.py [RECORDS] [--latency S] [--workers N]
    .venv/bin/python scripts/bench_passes.py --suite workers|ratelimit|requests|faults|rss

Records are inserted directly (intake is not what is measured). The default run times the
reserve and the register pass over RECORDS records. The suites are the figures of
BENCHMARKS.md: DOIs/s per worker count at 100 ms latency; a stand-in that allows 50 requests
per 5 s; requests per completed transition; a first run under faults; peak RSS of one pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from organiser import logs
from organiser.datacite.client import DataCiteClient
from organiser.datacite.ratelimit import RateLimiter
from organiser.domain.identifiers import DoiScheme
from organiser.domain.states import Action
from organiser.engine.passes import Organiser, Settings
from organiser.standin import DataCite, Faults, StandinServer
from organiser.storage import records as store
from organiser.storage.database import open_database

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "data" / "datacite" / "draft_insight_cameras.json"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Bench:
    """A stand-in, a fresh SQLite database with ``count`` records, and an organiser."""

    def __init__(self, tmp: str, count: int, workers: int, rate: float | None, **faults) -> None:
        self.server = StandinServer(DataCite({"BENCH": ("pw", ["10.5072"])})).start()
        self.server.datacite.set_faults(Faults(**faults))
        open_database(f"sqlite:///{tmp}/bench-{time.monotonic_ns()}.db")
        insert_records(count)
        client = DataCiteClient(
            self.server.url,
            "BENCH",
            "pw",
            connect_timeout=5,
            timeout=2,
            limiter=RateLimiter(rate),
            connections=workers,
        )
        settings = Settings(
            workers=workers,
            retry_delay=timedelta(0),
            outage_threshold=10**6,
            backoff=0.2,
            max_backoff=2.0,
        )
        self.organiser = Organiser(client, DoiScheme("10.5072"), settings, "bench", now)
        self.limiter = client.limiter

    def run(self, name: str) -> tuple[float, str, list]:
        before = len(self.server.datacite.seen)
        started = time.perf_counter()
        result = self.organiser.run([name])
        return (
            time.perf_counter() - started,
            result.passes[0].summary(),
            self.server.datacite.seen[before:],
        )

    def mark(self, status: str, action: Action, limit: int | None = None) -> list[str]:
        marked = []
        for record in list(store.select([status], limit)):
            store.mark(record, action, "bench", now())
            marked.append(record.doi)
        return marked

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def default(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp, args.records, args.workers, None, latency=args.latency)
        print(
            f"{args.records} records, stand-in latency {args.latency * 1000:.0f} ms, "
            f"{args.workers} workers"
        )
        for name in ("reserve", "register"):
            if name == "register":
                bench.mark("reserved", Action.MARK_REGISTER)
            elapsed, summary, sent = bench.run(name)
            print(
                f"{summary}: {elapsed:.1f} s, {args.records / elapsed:.0f} records/s, "
                f"{len(sent) / elapsed:.0f} requests/s"
            )
        bench.close()


def suite_workers(args: argparse.Namespace) -> None:
    print("reserve pass, 100 ms stand-in latency, no rate limit")
    for workers in (1, 8, 16, 32):
        count = 300 if workers == 1 else args.records
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(tmp, count, workers, None, latency=0.1)
            elapsed, summary, _ = bench.run("reserve")
            print(
                f"  workers {workers:>2}: {count} records in {elapsed:.1f} s = "
                f"{count / elapsed:.1f} DOIs/s ({summary})"
            )
            bench.close()


def suite_ratelimit(args: argparse.Namespace) -> None:
    count = args.records
    print(
        f"reserve pass over {count} records, stand-in allows 50 requests per 5 s "
        "(10/s, bursts of 50), 100 ms latency, [datacite] rate_limit = 10, 8 workers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp, count, 8, 10.0, latency=0.1, limit_rate=10.0, limit_burst=50)
        elapsed, summary, sent = bench.run("reserve")
        start = sent[0].at
        late = [s for s in sent if s.status == 429 and s.at - start > 5]
        print(
            f"  {summary}: {len(sent)} requests in {elapsed:.1f} s = "
            f"{len(sent) / elapsed:.2f} requests/s; 429s: "
            f"{sum(s.status == 429 for s in sent)} ({len(late)} after the first 5 s)"
        )
        bench.close()


def suite_requests(args: argparse.Namespace) -> None:
    count = 200
    print(f"requests per completed transition ({count} records each, no faults)")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp, count * 2, 8, None)
        cases = []
        bench.mark("to-be-reserved", Action.MARK_REGISTER, count)
        _, summary, sent = bench.run("register")
        cases.append(("register (never reserved)", summary, sent))
        _, summary, sent = bench.run("reserve")
        cases.append(("reserve", summary, sent))
        bench.mark("reserved", Action.MARK_REGISTER)
        _, summary, sent = bench.run("register")
        cases.append(("register (reserved)", summary, sent))
        for record in list(store.select(["registered"])):
            store.mark(
                record, Action.MARK_UPDATE, "bench", now(), store.attributes_of(record), record.url
            )
        _, summary, sent = bench.run("update")
        cases.append(("update (findable)", summary, sent))
        bench.mark("registered", Action.MARK_DELETE, count)
        _, summary, sent = bench.run("delete")
        cases.append(("delete (findable)", summary, sent))
        bench.close()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp, count, 8, None)
        bench.run("reserve")
        bench.mark("reserved", Action.MARK_DELETE)
        _, summary, sent = bench.run("delete")
        cases.append(("delete (draft)", summary, sent))
        bench.close()
    for name, summary, sent in cases:
        done = int(summary.split(": ")[1].split(" done")[0])
        kinds = Counter(f"{s.method}{' ' + s.event if s.event else ''}" for s in sent)
        print(
            f"  {name:<26} {len(sent) / max(done, 1):.2f} requests per transition "
            f"({summary}; {dict(kinds)})"
        )


def suite_faults(args: argparse.Namespace) -> None:
    count = args.records
    print(
        f"reserve pass over {count} records: 20 % 5xx, 5 % lost answers, 2 % timeouts "
        "(2 s read timeout), 100 ms latency, 8 workers, no rate limit; first run only"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(
            tmp,
            count,
            8,
            None,
            latency=0.1,
            error_rate=0.2,
            drop_rate=0.05,
            timeout_rate=0.02,
            hang=3.0,
            seed=7,
        )
        elapsed, summary, sent = bench.run("reserve")
        print(f"  {summary}: {elapsed:.1f} s ({elapsed / 60:.1f} min), {len(sent)} requests")
        bench.close()


def suite_rss(args: argparse.Namespace) -> None:
    print("peak RSS of a process that runs one reserve pass (no latency, 8 workers); the")
    print("stand-in and the database set-up run in processes of their own")
    port = free_port()
    standin = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("organiser-standin")),
            "--port",
            str(port),
            "--username",
            "BENCH",
            "--password",
            "pw",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert standin.stdout is not None
    url = standin.stdout.readline().strip()
    try:
        for count in (10_000, 100_000):
            with tempfile.TemporaryDirectory() as tmp:
                db = f"{tmp}/bench.db"
                subprocess.run([sys.executable, __file__, str(count), "--make-db", db], check=True)
                started = time.perf_counter()
                child = subprocess.Popen(
                    [sys.executable, __file__, str(count), "--pass-only", db, "--url", url]
                )
                _, status, usage = os.wait4(child.pid, 0)
                assert os.waitstatus_to_exitcode(status) == 0
                print(
                    f"  {count:>7} due records: peak RSS {usage.ru_maxrss / 1024:.0f} MB, "
                    f"pass {time.perf_counter() - started:.0f} s"
                )
    finally:
        standin.terminate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_db(args: argparse.Namespace) -> None:
    open_database(f"sqlite:///{args.make_db}")
    insert_records(args.records)


def insert_records(count: int) -> None:
    """Insert ``count`` records marked to-be-reserved, 2,000 per transaction."""
    base = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in ("doi", "prefix", "suffix", "state", "xml", "created", "updated", "url"):
        base.pop(key, None)
    scheme = DoiScheme("10.5072")
    for start in range(0, count, 2000):
        items = [
            store.NewRecord(
                scheme.generate(),
                True,
                f"urn:bench:{n}",
                json.dumps(
                    dict(
                        base, identifiers=[{"identifier": f"urn:bench:{n}", "identifierType": "x"}]
                    )
                ),
                f"https://example.org/{n}",
            )
            for n in range(start, min(count, start + 2000))
        ]
        store.insert_new(items, "bench", now() - timedelta(hours=1))


def pass_only(args: argparse.Namespace) -> None:
    open_database(f"sqlite:///{args.pass_only}")
    client = DataCiteClient(
        args.url,
        "BENCH",
        "pw",
        connect_timeout=5,
        timeout=30,
        limiter=RateLimiter(None),
        connections=8,
    )
    organiser = Organiser(client, DoiScheme("10.5072"), Settings(workers=8), "bench", now)
    result = organiser.run(["reserve"])
    assert result.passes[0].done == args.records, result.passes[0].summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0, help="stand-in delay per request")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--suite", choices=("workers", "ratelimit", "requests", "faults", "rss"))
    parser.add_argument("--make-db", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--pass-only", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logs.setup(logging.ERROR)
    if args.make_db:
        make_db(args)
    elif args.pass_only:
        pass_only(args)
    elif args.suite:
        globals()[f"suite_{args.suite}"](args)
    else:
        default(args)


if __name__ == "__main__":
    main()
