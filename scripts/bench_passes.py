"""Benchmark: how fast the reserve and register passes push a backlog through the stand-in.

    .venv/bin/python scripts/bench_passes.py [RECORDS] [--latency SECONDS]

Records are inserted directly (intake is not what is measured), then the reserve pass and the
register pass run in-process against the stand-in on 127.0.0.1 over real HTTP. The organiser's
own cost per record is what matters: DataCite allows about 3,000 requests per 5 minutes
(10/s), so anything well above that means the rate limit, not organiser, sets the pace.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from organiser import logs
from organiser.datacite.client import DataCiteClient
from organiser.domain.identifiers import DoiScheme
from organiser.domain.states import Action
from organiser.engine.passes import Organiser, Settings
from organiser.standin import DataCite, Faults, StandinServer
from organiser.storage import records as store
from organiser.storage.database import open_database

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "data" / "datacite" / "draft_insight_cameras.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0, help="stand-in delay per request")
    args = parser.parse_args()
    logs.setup(logging.ERROR)

    server = StandinServer(DataCite({"BENCH": ("pw", ["10.5072"])})).start()
    server.datacite.set_faults(Faults(latency=args.latency))
    base = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in ("doi", "prefix", "suffix", "state", "xml", "created", "updated", "url"):
        base.pop(key, None)
    scheme = DoiScheme("10.5072")
    now = datetime.now(UTC).replace(tzinfo=None)
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{tmp}/bench.db")
        items = []
        for n in range(args.records):
            attributes = copy.deepcopy(base)
            attributes["identifiers"] = [{"identifier": f"urn:bench:{n}", "identifierType": "x"}]
            items.append(
                store.NewRecord(
                    scheme.generate(),
                    True,
                    f"urn:bench:{n}",
                    json.dumps(attributes),
                    f"https://example.org/{n}",
                )
            )
        store.insert_new(items, "bench", now)
        client = DataCiteClient(server.url, "BENCH", "pw", connect_timeout=5, timeout=30)
        organiser = Organiser(
            client, scheme, Settings(), "bench", lambda: datetime.now(UTC).replace(tzinfo=None)
        )
        print(f"{args.records} records, stand-in latency {args.latency * 1000:.0f} ms")
        for name in ("reserve", "register"):
            if name == "register":
                for record in store.select(["reserved"]):
                    store.mark(record, Action.MARK_REGISTER, "bench", now + timedelta(hours=1))
            requests_before = len(server.datacite.seen)
            started = time.perf_counter()
            result = organiser.run([name])
            elapsed = time.perf_counter() - started
            sent = len(server.datacite.seen) - requests_before
            print(
                f"{result.passes[0].summary()}: {elapsed:.1f} s, "
                f"{args.records / elapsed:.0f} records/s, {sent / elapsed:.0f} requests/s"
            )
    server.shutdown()


if __name__ == "__main__":
    main()
