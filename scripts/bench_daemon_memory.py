"""Benchmark: the memory (RSS) of a running ``organiser daemon`` as it handles records.

    .venv/bin/python scripts/bench_daemon_memory.py [N] [--step S] [--batch B] [--workers W]

Starts the DataCite stand-in (in this process, on 127.0.0.1) and a real ``organiser daemon``
on a fresh SQLite database, with ``[scheduler] cron = * * * * *``: a run that
ends after the next minute has begun is followed at once by the next one (missed runs are
folded into one), so with work waiting the daemon runs back to back. This process feeds it
as an operator would, in batches of B records: DataCite JSON files (the real InSight cameras
draft, each with its own LIDVID and title) marked with ``organiser reserve DIR``; once the
daemon has reserved them, ``organiser register DOI...``; the daemon then publishes them. At
most ``--backlog`` records wait in the pipeline, so the database is not marked far ahead.

A record counts as handled when it is registered (findable at the stand-in): two requests,
two passes and two marks each. The daemon's ``VmRSS`` (``/proc/PID/status``) is read when it
starts, each time S more records are handled, and once more when it has been idle for a
while after the last one; ``VmHWM`` is its peak, and the open files are its descriptors.

By default the daemon runs back to back over large runs. Small batches with a small backlog
(``--batch 200 --backlog 400``) give it one run a minute, each reserving one batch and
registering the one before: what grows per run (not per record) shows there. The daemon
logs one line per record (info, as it does by default) to a file in the temporary directory.

The whole run stops by itself after ``--time-limit`` minutes at most (the figures so far are
printed), and the stand-in and the daemon are stopped (SIGTERM, then SIGKILL) however it
ends.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from organiser.standin import DataCite, StandinServer

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "data" / "datacite" / "draft_insight_cameras.json"
BIN = Path(sys.executable).parent
READ_ONLY = ("doi", "prefix", "suffix", "state", "xml", "created", "updated")
PASSWORD = "bench-password"
IDLE_SECONDS = 75  # over a minute: one more (empty) scheduled run happens meanwhile


class Stopped(Exception):
    """The daemon ended on its own, or the time limit was reached."""


def template() -> dict[str, Any]:
    """Give the attributes of the real InSight draft record without its DOI."""
    attributes = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in READ_ONLY:
        attributes.pop(key, None)
    return attributes


def write_records(folder: Path, start: int, count: int, base: dict[str, Any]) -> None:
    """Write ``count`` JSON files numbered from ``start``, each with its LIDVID and title."""
    folder.mkdir(parents=True)
    for n in range(start, start + count):
        attributes = copy.deepcopy(base)
        identifier = f"urn:nasa:pds:organiser_daemon_bench_{n:06d}::1.0"
        attributes["identifiers"] = [{"identifier": identifier, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": f"Organiser daemon bench bundle {n}"}]
        (folder / f"record_{n:06d}.json").write_text(
            json.dumps({"data": {"attributes": attributes}})
        )


def memory(pid: int) -> dict[str, float]:
    """Give ``VmRSS`` and ``VmHWM`` of process ``pid`` in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


class Setup:
    """A temporary directory with the config, the stand-in and the daemon processes."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args = tmp, args
        self.db = tmp / "organiser.db"
        self.config = tmp / "organiser.ini"
        self.environ = {k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_")}
        for name in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY"):
            self.environ.pop(name, None)
        self.environ.update(ORGANISER_CONFIG=str(self.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        self.standin: StandinServer | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.deadline = time.monotonic() + args.time_limit * 60

    def start(self) -> None:
        self.standin = StandinServer(DataCite({"BENCH": (PASSWORD, ["10.5072"])})).start()
        url = self.standin.url
        self.config.write_text(
            f"[datacite]\nurl = {url}\nusername = BENCH\nprefix = 10.5072\n"
            f"workers = {self.args.workers}\nrate_limit = 0\ntimeout = 30\n"
            f"[database]\nurl = sqlite:///{self.db}\n"
            f"[organiser]\nstate_dir = {self.tmp / 'state'}\nretry_delay = 0\n"
            "[scheduler]\ncron = * * * * *\nrun_at_start = true\n"
        )
        with open(self.tmp / "daemon.log", "wb") as log:
            self.daemon = subprocess.Popen(
                [str(BIN / "organiser"), "daemon"],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=self.environ,
            )
        self.wait_for(lambda: self.runs() >= 1, "the daemon's first run")

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, SIGKILL after 30 s), then the stand-in."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        if self.standin is not None:
            self.standin.shutdown()
            self.standin.server_close()

    def check(self) -> None:
        """Raise :class:`Stopped` if the daemon has ended or the time is up."""
        assert self.daemon is not None
        if self.daemon.poll() is not None:
            raise Stopped(f"the daemon exited ({self.daemon.returncode}); see its log below")
        if time.monotonic() > self.deadline:
            raise Stopped(f"time limit of {self.args.time_limit} minutes reached")

    def wait_for(self, condition: Any, what: str) -> None:
        while not condition():
            self.check()
            time.sleep(0.5)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        with closing(sqlite3.connect(self.db, timeout=60)) as connection:
            try:
                return connection.execute(sql).fetchall()
            except sqlite3.OperationalError:  # no tables yet
                return []

    def runs(self) -> int:
        rows = self.query("SELECT count(*) FROM run WHERE finished_at IS NOT NULL")
        return rows[0][0] if rows else 0

    def statuses(self) -> dict[str, int]:
        return dict(self.query("SELECT status, count(*) FROM record GROUP BY status"))

    def organiser(self, *args: str) -> None:
        """Run an ``organiser`` command; raise ``SystemExit`` if it fails."""
        done = subprocess.run(
            [str(BIN / "organiser"), *args],
            capture_output=True,
            text=True,
            env=self.environ,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"organiser {args[0]} failed ({done.returncode}): {done.stderr}")


def feed(setup: Setup, args: argparse.Namespace) -> Iterator[tuple[int, dict[str, int]]]:
    """Mark records as the daemon takes them; give (handled, statuses) about twice a second
    until ``args.records`` are registered."""
    base, marked = template(), 0
    while True:
        setup.check()
        statuses = setup.statuses()
        handled = statuses.get("registered", 0)
        yield handled, statuses
        if handled >= args.records:
            return
        # by DOI: a record id is first tried as an identifier in any case, a scan per id
        reserved = [
            row[0] for row in setup.query("SELECT doi FROM record WHERE status = 'reserved'")
        ]
        for start in range(0, len(reserved), 2000):
            setup.organiser("register", *reserved[start : start + 2000])
        waiting = marked - handled
        if marked < args.records and waiting + args.batch <= max(args.backlog, args.batch):
            count = min(args.batch, args.records - marked)
            folder = setup.tmp / "in" / f"batch_{marked:06d}"
            write_records(folder, marked, count, base)
            setup.organiser("reserve", str(folder))
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()
            marked += count
        elif not reserved:
            time.sleep(0.5)


@contextmanager
def started(args: argparse.Namespace) -> Iterator[Setup]:
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        setup = Setup(Path(tmp), args)
        try:
            setup.start()
            yield setup
        finally:
            setup.stop()
            log = Path(tmp) / "daemon.log"
            if setup.daemon is not None and setup.daemon.returncode not in (0, None):
                print("daemon log (last lines):", *log.read_text().splitlines()[-20:], sep="\n")
            elif log.exists():
                text = log.read_text()
                print(
                    f"daemon log: {text.count(chr(10)):,} lines, "
                    f"{text.count('outcome=failed'):,} records failed, "
                    f"{text.count('[error'):,} errors, {text.count('Traceback'):,} tracebacks"
                )
                print(*[line for line in text.splitlines() if "[error" in line][:3], sep="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=100_000, help="N to handle")
    parser.add_argument("--step", type=int, default=10_000, help="RSS every S records")
    parser.add_argument("--batch", type=int, default=1_000, help="records per mark")
    parser.add_argument("--backlog", type=int, default=5_000, help="most records waiting")
    parser.add_argument("--workers", type=int, default=4, help="[datacite] workers")
    parser.add_argument("--time-limit", type=float, default=180, help="minutes at most")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the daemon on the way out
    print(
        f"organiser daemon, {args.records:,} records reserved then registered in batches of "
        f"{args.batch:,} (at most {args.backlog:,} waiting), {args.workers} workers, "
        "stand-in on 127.0.0.1 without latency, SQLite"
    )
    print("| records handled | runs | minutes | VmRSS MB | VmHWM MB | open files |")
    print("|---:|---:|---:|---:|---:|---:|")
    try:
        run(args)
    except Stopped as exc:
        print(f"stopped early: {exc}")


def run(args: argparse.Namespace) -> None:
    """Print a row of the table at the start, at each step and after the last one."""
    with started(args) as setup:
        assert setup.daemon is not None
        began = time.monotonic()

        def row(label: str) -> None:
            pid = setup.daemon.pid  # type: ignore[union-attr]
            mb = memory(pid)
            minutes = (time.monotonic() - began) / 60
            print(
                f"| {label} | {setup.runs()} | {minutes:.1f} | {mb['VmRSS']:.1f} | "
                f"{mb['VmHWM']:.1f} | {len(os.listdir(f'/proc/{pid}/fd'))} |",
                flush=True,
            )

        row("0 (started)")
        target = args.step
        for handled, _ in feed(setup, args):
            while handled >= target:
                row(f"{target:,}")
                target += args.step
        idle_until = time.monotonic() + IDLE_SECONDS
        setup.wait_for(lambda: time.monotonic() > idle_until, "idle")
        row(f"{handled:,}, idle {IDLE_SECONDS} s")
        statuses = setup.statuses()
        if statuses != {"registered": args.records}:
            print(f"records not all registered: {statuses}")
        assert setup.standin is not None
        seen = setup.standin.datacite.seen
        refused = sum(not 200 <= s.status < 300 for s in seen)
        print(f"stand-in: {len(seen):,} requests, {refused:,} not 2xx")


if __name__ == "__main__":
    main()
