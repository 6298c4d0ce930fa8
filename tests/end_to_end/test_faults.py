"""Failure handling through the installed command against a misbehaving stand-in."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from conftest import Env, write_records


def _seen(env: Env) -> list[tuple[str, str | None, str | None, int]]:
    return [(s.method, s.doi, s.event, s.status) for s in env.server.datacite.seen]


def _settle(env: Env, *flags: str, runs: int = 5) -> None:
    """Run until a run has nothing left that failed (bounded)."""
    for _ in range(runs):
        result = env.run(*flags)
        assert result.returncode in (0, 1), result.stderr
        if result.returncode == 0:
            return
    raise AssertionError(f"still failing after {runs} runs: {result.stderr}")


@pytest.mark.slow
def test_lost_answers_on_every_operation_leave_no_duplicates(env: Env) -> None:
    env.write_config(datacite={"retries": "6"}, organiser={"outage_threshold": "20"})
    write_records(env.tmp / "in", 12)
    env.ok("reserve", str(env.tmp / "in"))
    env.faults(drop_rate=0.3, seed=7)

    _settle(env, "-s")
    records = env.records()
    assert {r.doi: "draft" for r in records} == env.remote  # one DOI per record, none extra
    env.ok("register", *[r.doi for r in records[:8]])
    env.ok("delete", *[r.doi for r in records[8:10]])
    env.faults(drop_rate=0.3, drop_next=2, seed=8)  # the first publish and the first DELETE
    _settle(env, "-r", "-d")
    env.ok("delete", *[r.doi for r in records[:3]])
    env.faults(drop_rate=0.3, drop_next=1, seed=9)  # the first hide
    _settle(env, "-d")
    env.ok("update", records[5].doi, str(env.tmp / "in" / "record_00005.json"))
    env.faults(drop_next=1)  # the update
    _settle(env, "-u")

    final = {r.doi: r.status for r in env.records()}
    assert Counter(final.values()) == {"deleted": 5, "registered": 5, "reserved": 2}
    assert (
        env.remote
        == {
            **{r.doi: "registered" for r in records[:3]},  # hidden
            **{r.doi: "findable" for r in records[3:8]},
            **{r.doi: "draft" for r in records[10:]},
        }
    )
    dropped = Counter((m, e) for m, _, e, status in _seen(env) if status == 0)
    # every kind of effect had an answer lost on the way (applied, then the connection dropped)
    assert dropped[("POST", None)] and dropped[("PUT", "publish")] and dropped[("PUT", "hide")]
    assert dropped[("DELETE", None)] and dropped[("PUT", None)]
    taken = [s for s in _seen(env) if s[0] == "POST" and s[3] == 422]
    assert taken  # the lost creates were recognised as ours, not given fresh DOIs
    assert all(r.claim_owner is None for r in env.records())


@pytest.mark.slow
def test_errors_and_timeouts_settle_within_a_few_runs(env: Env) -> None:
    env.write_config(
        datacite={"retries": "3", "timeout": "0.3"}, organiser={"outage_threshold": "30"}
    )
    write_records(env.tmp / "in", 30)
    env.ok("reserve", str(env.tmp / "in"))
    # each try fails with p = 0.6 + 0.4 * 0.08 = 0.63, a record (4 tries) with p^4 = 0.16: the
    # first run fails some of the 30 but for a chance of 0.84^30 = 0.5% (the workers draw the
    # faults in no fixed order, so the seed alone does not decide it)
    env.faults(error_rate=0.6, timeout_rate=0.08, hang=0.6, seed=3)

    first = env.run("-s")
    assert first.returncode == 1
    failed = [r for r in env.records() if r.status == "to-be-reserved"]
    assert failed and all(r.attempts == 1 and r.last_error for r in failed)
    assert first.stderr.count("error: reserve") == len(failed)
    assert all(  # which records draw which fault depends on the order the workers go in
        "503 Service unavailable" in r.last_error or "did not answer in time" in r.last_error
        for r in failed
    )
    for _ in range(6):  # a record still failing after 6 more runs: 0.16^6 each
        if env.run("-s").returncode == 0:
            break
    records = env.records()
    assert {r.status for r in records} == {"reserved"}
    assert {r.doi: "draft" for r in records} == env.remote
    assert all(r.attempts == 0 and r.last_error is None for r in records)


@pytest.mark.slow
def test_outage_mid_pass_stops_the_run_and_marks_nothing_failed(env: Env) -> None:
    env.write_config(datacite={"retries": "2"})
    write_records(env.tmp / "in", 20)
    env.ok("reserve", str(env.tmp / "in"))
    env.faults(outage_after=8)

    result = env.run("-s")
    assert result.returncode == 75
    assert "error: run stopped" in result.stderr
    records = env.records()  # the first 8 answers, whichever records they were for
    assert Counter(r.status for r in records) == {"reserved": 8, "to-be-reserved": 12}
    assert sorted(env.remote) == sorted(r.doi for r in records if r.status == "reserved")
    assert all(r.attempts == 0 and r.last_error is None for r in records)
    assert all(r.claim_owner is None and r.next_attempt_at is None for r in records)

    env.faults()
    assert env.run("-s").returncode == 0
    assert {r.status for r in env.records()} == {"reserved"}
    assert len(env.remote) == 20


def test_refused_credentials_stop_at_once(env: Env) -> None:
    write_records(env.tmp / "in", 5)
    env.ok("reserve", str(env.tmp / "in"))
    result = env.run("-s", env={"ORGANISER_DATACITE_PASSWORD": "wrong"})
    assert result.returncode == 75
    assert "401 DataCite refused the repository credentials" in result.stderr
    assert "wrong" not in result.stderr + result.stdout
    assert len(env.server.datacite.seen) == 1
    assert {r.status for r in env.records()} == {"to-be-reserved"}


@pytest.mark.slow
def test_kill_during_a_pass_then_a_normal_run_completes_everything(env: Env) -> None:
    write_records(env.tmp / "in", 40)
    env.ok("reserve", str(env.tmp / "in"))
    env.faults(latency=0.05)
    process = env.popen("-s")
    deadline = time.monotonic() + 60
    while len(env.remote) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stranded = [r for r in env.records() if r.claim_owner]
    assert stranded  # the kill left claims behind
    assert 6 <= len(env.remote) < 40

    env.faults()
    result = env.run("-s")
    assert result.returncode == 0, result.stderr
    records = env.records()
    assert {r.status for r in records} == {"reserved"}
    assert all(r.claim_owner is None for r in records)
    assert {r.doi: "draft" for r in records} == env.remote


@pytest.mark.slow
def test_one_record_refused_the_others_complete(env: Env) -> None:
    write_records(env.tmp / "in", 9)
    write_records(env.tmp / "in", 1, start=9, url=None)
    env.ok("reserve", str(env.tmp / "in"))
    assert env.run("-s").returncode == 0  # a draft needs no landing page
    env.ok("register", *[str(n) for n in range(1, 11)])

    result = env.run("-r")
    assert result.returncode == 1
    assert result.stdout.strip() == "register: 9 done, 1 failed, 0 skipped"
    bad = env.records()[9]
    assert result.stderr.strip() == (
        f"error: register {bad.doi} ({bad.identifier}): "
        f"PUT /dois/{bad.doi}: 422 url: can't be blank"
    )
    assert (bad.status, bad.attempts) == ("to-be-registered", 1)
    assert bad.last_error == f"PUT /dois/{bad.doi}: 422 url: can't be blank"
    assert Counter(env.remote.values()) == {"findable": 9, "draft": 1}
    # a permanent failure is not retried on every run: it waits (max_retry_delay)
    again = env.run("-r")
    assert (again.returncode, again.stdout.strip()) == (0, "register: 0 done, 0 failed, 1 skipped")


@pytest.mark.slow
def test_someone_elses_doi_gets_a_fresh_suffix(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    planned = env.records()[0].doi
    env.server.datacite.upsert(
        planned, {"titles": [{"title": "not ours"}]}, "DEMO.ORGANISER", None, create_only=True
    )
    assert env.run("-s").returncode == 0
    record = env.records()[0]
    assert record.doi != planned and record.status == "reserved"
    assert env.remote == {planned: "draft", record.doi: "draft"}
    assert env.server.datacite.dois[planned]["attributes"]["titles"] == [{"title": "not ours"}]
