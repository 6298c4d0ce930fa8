"""Benchmark: what a DataCite answering badly costs a reserve pass, in time and memory.

    .venv/bin/python scripts/bench_bad_answers.py [--records N] [--timeout S] [--mb M]

Runs the DataCite stand-in as its own process (``organiser-standin``, so its memory is not
counted), then, in this process, one reserve pass over N fresh records (generated DOIs, one
try each) per answer fault: none (the baseline), an oversized answer of M MB with a
Content-Length, the same sent chunked (counted while read), and a body trickled at one byte a
second. For each it prints the pass's wall time, the records done and failed, and this
process's resident memory (VmRSS) and its peak (VmHWM) after the pass: an oversized answer is
refused without being held, a trickled one ends at ``[datacite] timeout``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

from organiser.datacite.client import DataCiteClient
from organiser.domain.identifiers import DoiScheme
from organiser.engine.passes import Organiser, Settings
from organiser.storage import records as store
from organiser.storage.database import open_database

USER, PASSWORD, PREFIX = "DEMO.ORGANISER", "standin-password", "10.5072"
ATTRIBUTES = {
    "titles": [{"title": "x"}],
    "creators": [{"name": "A"}],
    "publisher": "P",
    "publicationYear": "2026",
    "types": {"resourceTypeGeneral": "Dataset"},
}


def _memory() -> tuple[float, float]:
    """Give this process's resident and peak resident memory, MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def main() -> None:
    """Run the benchmark and print one line per fault."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--mb", type=float, default=50.0)
    args = parser.parse_args()
    standin = subprocess.Popen(
        [str(Path(sys.executable).with_name("organiser-standin"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert standin.stdout is not None
        url = standin.stdout.readline().strip()
        faults = {
            "none": {},
            f"oversized {args.mb:g} MB": {"oversize_mb": args.mb},
            f"oversized {args.mb:g} MB, chunked": {
                "oversize_mb": args.mb,
                "oversize_chunked": True,
            },
            "trickled, 1 byte/s": {"trickle": 1.0},
        }
        with tempfile.TemporaryDirectory() as tmp:
            open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            print(f"before: RSS {_memory()[0]:.1f} MB")
            for number, (name, fault) in enumerate(faults.items()):
                requests.put(f"{url}/_standin/faults", json=fault, timeout=10).raise_for_status()
                now = datetime.now()
                store.insert_new(
                    [
                        store.NewRecord(
                            f"{PREFIX}/bench-{number}-{i}",
                            True,
                            f"urn:bench:{number}:{i}",
                            json.dumps(ATTRIBUTES),
                            "https://example.org/",
                        )
                        for i in range(args.records)
                    ],
                    "bench",
                    now,
                )
                client = DataCiteClient(
                    url, USER, PASSWORD, connect_timeout=2, timeout=args.timeout
                )
                organiser = Organiser(
                    client,
                    DoiScheme(PREFIX),
                    Settings(retries=1, outage_threshold=10**6),
                    "bench",
                    datetime.now,
                )
                started = time.monotonic()
                result = organiser.run(["reserve"])
                took = time.monotonic() - started
                rss, peak = _memory()
                [counts] = result.passes
                errors = sorted({f.error for f in result.failures})
                print(
                    f"{name:<28} {took:6.2f} s  done {counts.done} failed {counts.failed}  "
                    f"RSS {rss:.1f} MB, peak {peak:.1f} MB  {'; '.join(errors)[:90]}"
                )
    finally:
        standin.terminate()
        standin.wait()


if __name__ == "__main__":
    main()
