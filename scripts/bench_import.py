"""Benchmark ``organiser import``: time and peak RSS of importing an account of N DOIs.

    .venv/bin/python scripts/bench_import.py [COUNT ...] [--page-size N] [--rate-limit R]

For each COUNT (default: 10000 100000) a fresh stand-in is preloaded with COUNT DOIs made from
the real DataCite records in tests/data/datacite (each with its own LIDVID and title; 60 %
findable, 30 % draft, 10 % hidden) and the installed ``organiser import`` runs against it
into a fresh SQLite database. The stand-in runs in this process (its memory is not counted);
organiser runs as a child process (``organiser.commands.main`` as the console script runs
it), and its peak RSS is the child's own VmHWM read as it exits, so it covers the whole
command: Python, imports, one page in flight, the database. A second import is timed as well
(everything unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from organiser.standin import DataCite, StandinServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = (
    "draft_insight_cameras.json",
    "draft_mro_sharad_pds3_utf8_bom.json",
    "findable_ladee_nms_legacy_osti_ids.json",
    "findable_sbn_arecibo_radar_related_identifier.json",
)
STATES = tuple({"F": "findable", "D": "draft", "R": "registered"}[c] for c in "FDFFDRFDFF")
USER, PASSWORD = "BENCH.IMPORT", "bench-password"


def templates() -> list[dict[str, Any]]:
    found = []
    for name in FIXTURES:
        data = json.loads((ROOT / "tests/data/datacite" / name).read_text(encoding="utf-8-sig"))
        items = data["data"] if isinstance(data["data"], list) else [data["data"]]
        found += [item["attributes"] for item in items]
    return found


def preload(api: DataCite, count: int) -> None:
    """Hold ``count`` DOIs; they share the templates' nested values (only identifiers and
    titles are their own), so the stand-in stays small."""
    bases = templates()
    for n in range(count):
        base = bases[n % len(bases)]
        lidvid = f"urn:nasa:pds:bench_import:bundle_{n:06d}::1.0"
        api.add(
            f"10.5072/BENCH-{n:06d}",
            dict(
                base,
                identifiers=[{"identifier": lidvid, "identifierType": "PDS4 LIDVID"}],
                titles=[{"title": f"Import benchmark bundle {n}"}],
            ),
            state=STATES[n % len(STATES)],
            updated="2024-01-01T00:00:00Z",
        )


#: Runs ``organiser`` and, as it exits, writes its peak RSS (VmHWM, kB) to $BENCH_HWM. Not
#: ``ru_maxrss``: a child forked from this process (which holds the stand-in) starts with this
#: process's RSS as its maximum, while VmHWM belongs to the memory of the program exec'ed.
WRAPPER = """
import atexit, os, sys
def hwm():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_HWM"], "w") as out:
        out.write(kb)
atexit.register(hwm)
sys.argv[0] = "organiser"
from organiser.commands.main import main
main()
"""


def run(config: Path, *args: str) -> tuple[float, int, str]:
    """Run ``organiser import``; give (seconds, peak RSS in MB, its summary line)."""
    with tempfile.TemporaryDirectory() as tmp:
        environ = dict(
            os.environ,
            ORGANISER_CONFIG=str(config),
            ORGANISER_DATACITE_PASSWORD=PASSWORD,
            BENCH_HWM=f"{tmp}/hwm",
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER, "import", *args],
            capture_output=True,
            env=environ,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"organiser import failed ({done.returncode}): {done.stderr}")
        return seconds, round(int(Path(f"{tmp}/hwm").read_text()) / 1024), done.stdout.strip()


def bench(count: int, page_size: int, rate_limit: float) -> None:
    server = StandinServer(DataCite({USER: (PASSWORD, ["10.5072"])})).start()
    started = time.perf_counter()
    preload(server.datacite, count)
    print(f"{count:,} DOIs preloaded in {time.perf_counter() - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "organiser.ini"
        config.write_text(
            f"[datacite]\nurl = {server.url}\nusername = {USER}\nprefix = 10.5072\n"
            f"rate_limit = {rate_limit:g}\n"
            f"[database]\nurl = sqlite:///{tmp}/organiser.db\n"
            f"[organiser]\nstate_dir = {tmp}/state\n"
        )
        for label in ("first import", "second import"):
            seconds, rss, summary = run(config, "--page-size", str(page_size))
            print(
                f"{count:>7,} DOIs, {label:<13}: {seconds:6.1f} s, {count / seconds:6.0f} DOIs/s,"
                f" peak RSS {rss} MB  ({summary})",
                flush=True,
            )
    server.shutdown()
    server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rate-limit", type=float, default=0, help="[datacite] rate_limit")
    args = parser.parse_args()
    for count in args.counts:
        bench(count, args.page_size, args.rate_limit)


if __name__ == "__main__":
    main()
