"""Several organisers sharing one PostgreSQL database (in production: on several hosts), each
the installed command with a run lock of its own: they split the queue without sending any
record twice, and a killed one's claims are taken over once they expire."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg2
import pytest

from organiser.config import SCHEMA
from organiser.storage.database import open_database
from organiser.storage.models import Record

from conftest import Env, write_records

PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set"),
]


def _shared_database(env: Env, records: int, batch_size: int) -> list[str]:
    """Mark ``records`` records in the test PostgreSQL database; give their DOIs."""
    assert PG_URL
    env.use_database(PG_URL)
    # each run works on one record at a time, unthrottled (where this organiser has such
    # settings), so that the queue lasts until every organiser has started
    serial = {
        key: value
        for key, value in (("workers", "1"), ("rate_limit", "0"))
        if key in SCHEMA["datacite"]
    }
    env.write_config(datacite=serial, organiser={"batch_size": str(batch_size)})
    write_records(env.tmp / "in", records)
    marked = env.run("reserve", str(env.tmp / "in"))
    assert marked.returncode == 0, marked.stderr
    return [r.doi for r in env.records()]


def _organiser(env: Env, name: str, *flags: str) -> subprocess.Popen[str]:
    """Start ``organiser FLAGS`` as if on host ``name``: a state directory (run lock) of its
    own, so that the organisers do not wait for each other's lock."""
    return env.popen(*flags, env={"ORGANISER_ORGANISER_STATE_DIR": str(env.tmp / name)})


def _created(env: Env) -> Counter[str]:
    """How many times the stand-in created each DOI (a POST answered 201)."""
    return Counter(
        s.doi for s in env.server.datacite.seen if s.method == "POST" and s.status == 201
    )


def _done(output: str, pass_name: str = "reserve") -> tuple[int, int]:
    match = re.search(rf"^{pass_name}: (\d+) done, (\d+) failed, (\d+) skipped$", output, re.M)
    assert match, output
    done, failed, skipped = (int(n) for n in match.groups())
    assert failed == 0, output
    return done, skipped


@pytest.mark.parametrize("organisers", [2, 4])
def test_organisers_started_together_split_the_queue(env: Env, organisers: int) -> None:
    dois = _shared_database(env, 300, batch_size=10)
    env.faults(latency=0.02)
    with _started_together(organisers):
        processes = [_organiser(env, f"host{n}", "-s") for n in range(organisers)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err

    shares = [_done(out)[0] for out, _ in outputs]
    assert sum(shares) == 300
    assert all(shares), shares  # none found the queue taken and gave up
    assert _created(env) == Counter(dois)  # each record created once, no stranger DOI
    assert [s.method for s in env.server.datacite.seen] == ["POST"] * 300  # and nothing else
    records = env.records()
    assert {(r.status, r.claim_owner) for r in records} == {("reserved", None)}
    assert env.remote == {doi: "draft" for doi in dois}


@contextmanager
def _started_together(organisers: int) -> Iterator[None]:
    """Hold the record table while the block starts the organisers, and let them go at the
    same moment once each waits for it to claim its first batch (as runs started by the same
    cron minute on several hosts meet, whatever their start-up takes)."""
    assert PG_URL
    gate, watch = psycopg2.connect(PG_URL), psycopg2.connect(PG_URL)
    watch.autocommit = True
    try:
        with gate.cursor() as cursor:  # plain reads go on; row locks and writes wait
            cursor.execute("LOCK TABLE record IN EXCLUSIVE MODE")
        yield
        deadline = time.monotonic() + 60
        while _waiting_for_locks(watch) < organisers:
            assert time.monotonic() < deadline, "the organisers never reached their first claim"
            time.sleep(0.02)
        gate.commit()
    finally:
        gate.close()
        watch.close()


def _waiting_for_locks(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_killed_organiser_s_claims_are_taken_over_once_they_expire(env: Env) -> None:
    dois = _shared_database(env, 80, batch_size=40)
    env.faults(latency=0.05)
    killed = _organiser(env, "host-a", "-s")
    deadline = time.monotonic() + 60
    while len(env.remote) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    env.faults()

    # it ran on another host: its claims cannot be freed from here, only expire
    db = open_database(env.db_url)
    db.execute_sql(
        "UPDATE record SET claim_owner = 'otherhost' || substr(claim_owner, strpos(claim_owner, "
        "':')) WHERE claim_owner IS NOT NULL"
    )
    held = {r.id for r in Record.select().where(Record.claim_owner.is_null(False))}
    pending = {r.id for r in Record.select().where(Record.status == "to-be-reserved")}
    assert held and held <= pending  # the kill left claims on records not done
    db.close()

    first = env.run("-s")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _done(first.stdout) == (len(pending - held), len(held))  # the claimed ones skipped
    after_first = {r.id: r for r in env.records()}
    assert {i for i, r in after_first.items() if r.status == "to-be-reserved"} == held
    assert all(after_first[i].claim_owner.startswith("otherhost:") for i in held)

    db = open_database(env.db_url)  # claim_timeout passes (60 s at the least): simulated
    Record.update(claim_expires_at=datetime(2000, 1, 1)).where(
        Record.claim_owner.is_null(False)
    ).execute()
    db.close()
    second = env.run("-s")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _done(second.stdout) == (len(held), 0)
    records = env.records()
    assert {(r.status, r.claim_owner) for r in records} == {("reserved", None)}
    assert env.remote == {doi: "draft" for doi in dois}  # no stranger DOI
    assert _created(env) == Counter(dois)  # none created twice, whatever the kill cut short
