"""Benchmark: peak memory (RSS) and wall time of marking many DataCite JSON files at once.

    .venv/bin/python scripts/bench_mark_memory.py [N ...] [--keep DIR] [--repeat R]

Writes N DataCite JSON files (the real InSight cameras draft record, each with its own
LIDVID and title, as ``tests/conftest.py`` ``write_records`` does) to a directory, then runs
the installed ``organiser reserve DIR`` against a fresh SQLite database (no DataCite needed)
and prints its wall time, its CPU time (with its reading processes: steadier than wall time
on a busy machine) and its peak resident set size: ``ru_maxrss`` from ``wait4`` for that one
child, the largest process of its tree (the command itself; its reading processes are
smaller), so each measurement stands on its own.

Writing 100,000 files takes a while: with ``--keep DIR`` the files are written to
``DIR/json_<N>`` once and reused by later runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "data" / "datacite" / "draft_insight_cameras.json"
BIN = Path(sys.executable).parent
READ_ONLY = ("doi", "prefix", "suffix", "state", "xml", "created", "updated")


def template() -> dict[str, Any]:
    """Give the attributes of the real InSight draft record without its DOI."""
    attributes = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in READ_ONLY:
        attributes.pop(key, None)
    return attributes


def write_records(folder: Path, count: int) -> None:
    """Write ``count`` JSON files, one record each with a unique LIDVID and title."""
    done = folder / ".complete"
    if done.exists() and done.read_text() == str(count):
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    base = template()
    for n in range(count):
        attributes = copy.deepcopy(base)
        identifier = f"urn:nasa:pds:organiser_bench_{n:06d}::1.0"
        attributes["identifiers"] = [{"identifier": identifier, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": f"Organiser bench bundle {n}"}]
        (folder / f"record_{n:06d}.json").write_text(
            json.dumps({"data": {"attributes": attributes}})
        )
    done.write_text(str(count))


def measure(folder: Path, count: int, work: Path) -> tuple[float, float, int]:
    """Run ``organiser reserve folder`` on a fresh database; give (wall seconds, CPU seconds
    of the command and its reading processes, peak KiB)."""
    for old in work.glob("bench.db*"):
        old.unlink()
    config = work / "organiser.ini"
    config.write_text(
        "[datacite]\nprefix = 10.5072\n"
        f"[database]\nurl = sqlite:///{work}/bench.db\n"
        f"[organiser]\nstate_dir = {work}/state\n"
    )
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORGANISER_") and k != "NOTIFY_SOCKET"
    }
    environ["ORGANISER_CONFIG"] = str(config)
    with open(work / "out.txt", "wb") as out, open(work / "err.txt", "wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(BIN / "organiser"), "reserve", str(folder)], stdout=out, stderr=err, env=environ
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    marked = (work / "out.txt").read_bytes().count(b"\n")
    if child.returncode != 0 or marked != count:
        problem = (work / "err.txt").read_text()[-800:]
        raise SystemExit(f"organiser reserve exited {child.returncode}, {marked} lines: {problem}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--keep", type=Path, help="write (and reuse) the files under DIR")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for count in args.counts:
            folder = base / f"json_{count}"
            started = time.perf_counter()
            write_records(folder, count)
            written = time.perf_counter() - started
            if written > 1:
                print(f"wrote {count} files in {written:.0f} s", flush=True)
            for _ in range(args.repeat):
                wall, cpu, peak = measure(folder, count, Path(tmp))
                print(
                    f"organiser reserve DIR, {count} JSON files: {wall:.2f} s "
                    f"({count / wall:.0f} files/s, CPU {cpu:.1f} s), peak RSS {peak / 1024:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
