"""What an operator does: status and metrics, dry runs, pushes, marking while a pass runs,
reading without an account, and never seeing a secret."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ORGANISER, PASSWORD, Env, clean_environment, wait_for, write_records


def _marked(env: Env, count: int) -> None:
    write_records(env.tmp / "in", count)
    assert env.run("reserve", str(env.tmp / "in"), "--submitter", "ann@example.org").returncode == 0


def _publishing(env: Env) -> bool:
    """Tell whether the stand-in has received a publish (its answer may still be coming)."""
    return any(s.event == "publish" for s in env.server.datacite.seen)


@pytest.mark.slow
def test_status_reports_the_queue_and_the_last_run(env: Env) -> None:
    _marked(env, 6)
    assert env.run("-s").returncode == 0
    env.ok("register", "1", "2", "3")
    env.faults(fail_dois={env.records()[2].doi: 422})
    assert env.run("-r").returncode == 1
    env.ok("delete", "4")
    result = env.run("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    counts = {name: entry["records"] for name, entry in status["statuses"].items()}
    assert counts == {
        "to-be-reserved": 0,
        "reserved": 2,
        "review": 0,
        "to-be-registered": 1,
        "registered": 2,
        "update-reserved": 0,
        "update-registered": 0,
        "update-before-registration": 0,
        "update-review": 0,
        "to-be-deleted": 1,
        "deleted": 0,
    }
    waiting = status["statuses"]["to-be-registered"]["oldest_waiting_seconds"]
    assert isinstance(waiting, int) and 0 <= waiting < 60
    assert status["statuses"]["registered"]["oldest_waiting_seconds"] is None
    assert (status["records"], status["waiting"], status["failing"]) == (6, 2, 1)
    last = status["last_run"]
    assert last["outcome"] == "failures" and last["actor"] == "organiser --register-all"
    assert last["counts"] == {"register": {"done": 2, "failed": 1, "skipped": 0}}
    text = env.ok("status").stdout
    assert "to-be-registered                    1  " in text
    assert "records failing                     1" in text
    assert "failures: register 2 done/1 failed" in text


@pytest.mark.slow
def test_status_prometheus_textfile_parses_and_is_written_atomically(env: Env) -> None:
    _marked(env, 3)
    assert env.run("-s").returncode == 0
    target = env.tmp / "metrics" / "organiser.prom"
    target.parent.mkdir()
    result = env.run("status", "--prometheus", str(target))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in target.parent.iterdir()] == ["organiser.prom"]  # no temp file left
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    records = {s.labels["status"]: s.value for s in families["organiser_records"].samples}
    assert records["reserved"] == 3 and records["to-be-reserved"] == 0
    assert families["organiser_records_failing"].samples[0].value == 0
    outcome = {s.labels["outcome"]: s.value for s in families["organiser_last_run_outcome"].samples}
    assert outcome["ok"] == 1 and outcome["failures"] == 0
    done = [
        s.value
        for s in families["organiser_last_run_records"].samples
        if s.labels == {"pass": "reserve", "result": "done"}
    ]
    assert done == [3]
    started = families["organiser_last_run_start_timestamp_seconds"].samples[0].value
    assert abs(started - time.time()) < 120
    unwritable = env.run("status", "--prometheus", str(env.tmp / "missing" / "x.prom"))
    assert unwritable.returncode == 2
    assert unwritable.stderr.startswith(f"Error: --prometheus {env.tmp / 'missing' / 'x.prom'}")


@pytest.mark.slow
def test_dry_run_shows_what_would_be_sent_and_changes_nothing(env: Env) -> None:
    _marked(env, 3)
    assert env.run("-s").returncode == 0
    env.ok("register", "1")
    env.ok("delete", "2")
    before, requests = env.snapshot(), len(env.server.datacite.seen)
    result = env.run("--dry-run", "-u", "-s", "-r", "-d")
    assert result.returncode == 0, result.stderr
    first, second = env.records()[0].doi, env.records()[1].doi
    assert result.stdout.splitlines() == [
        f"would register\t{first}\turn:nasa:pds:organiser_test_00000::1.0\t"
        f"PUT /dois/{first} event=publish (make it findable)",
        f"would delete\t{second}\turn:nasa:pds:organiser_test_00001::1.0\t"
        f"DELETE /dois/{second} (delete the draft)",
        "dry run: 2 record(s) would be worked on; nothing sent or changed",
    ]
    third = env.records()[2].doi
    pushed = env.run("--dry-run", "--register-doi", "3")  # the push's mark, in memory only
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines() == [
        f"would register\t{third}\turn:nasa:pds:organiser_test_00002::1.0\t"
        f"PUT /dois/{third} event=publish (make it findable)",
        "dry run: 1 record(s) would be worked on; nothing sent or changed",
    ]
    refused = env.run("--dry-run", "--delete-doi", "3")  # refused as the push itself is
    assert refused.returncode == 2
    assert refused.stderr == (
        f"Error: {third} is reserved; --delete-doi pushes a record marked to-be-deleted; "
        "mark it first: organiser delete 3\n"
    )
    assert env.snapshot() == before and len(env.server.datacite.seen) == requests


def test_every_repeated_push_is_pushed(env: Env) -> None:
    _marked(env, 3)
    result = env.run("--reserve-doi", "1", "--reserve-doi", "2", "--register-doi", "3")
    assert result.returncode == 0, result.stderr
    assert [r.status for r in env.records()] == ["reserved", "reserved", "registered"]
    assert result.stdout.splitlines() == [
        "reserve: 1 done, 0 failed, 0 skipped",
        "reserve: 1 done, 0 failed, 0 skipped",
        "register: 1 done, 0 failed, 0 skipped",
    ]


@pytest.mark.slow
def test_reading_needs_no_datacite_account(env: Env) -> None:
    _marked(env, 2)
    for key in ("username", "prefix"):
        env.settings["datacite"].pop(key)
    env.write_config()
    environ = clean_environment()
    environ["ORGANISER_CONFIG"] = str(env.config)
    for args in (["list"], ["-l"], ["status"], ["show", "1"], ["list", "--json"]):
        result = subprocess.run(
            [str(ORGANISER), *args], capture_output=True, text=True, env=environ, check=False
        )
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout and result.stderr == ""
    pushed = env.run("-s")
    assert pushed.returncode == 2
    assert pushed.stderr == (  # every missing key, one line each
        f"Error: {env.config}: [datacite] username: missing (required; or set "
        "ORGANISER_DATACITE_USERNAME)\n"
        f"Error: {env.config}: [datacite] prefix: missing (required; or set "
        "ORGANISER_DATACITE_PREFIX)\n"
    )


@pytest.mark.slow
def test_thirty_marks_while_a_pass_runs_all_succeed(env: Env) -> None:
    env.write_config(datacite={"rate_limit": "0"})  # the stand-in's latency sets the pace
    _marked(env, 190)
    assert env.run("-s").returncode == 0
    env.ok("register", *[str(n) for n in range(1, 161)])
    env.faults(latency=1.5)  # 30 commands take 10-20 s on two busy cores: the pass outlasts them
    run = env.popen("-r")  # registers 1-160 with 8 workers, 30 s and more
    wait_for(lambda: _publishing(env), what="the pass's first publish")
    commands = [["register", str(n)] for n in range(161, 171)]
    commands += [["delete", str(n)] for n in range(181, 191)]
    commands += [
        ["update", str(n), str(env.tmp / "in" / f"record_{n - 1:05d}.json")]
        for n in range(171, 181)
    ]
    during: list[bool] = []  # was the pass still running when each mark was done?

    def mark(args: list[str]) -> subprocess.CompletedProcess[str]:
        result = env.run(*args)
        during.append(run.poll() is None)
        return result

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(mark, commands))
    assert sum(during) >= 20, "the pass ended before the marks ran: not a concurrency test"
    _, err = run.communicate(timeout=180)
    assert [r.returncode for r in results] == [0] * 30, [r.stderr for r in results if r.returncode]
    assert all("locked" not in r.stderr for r in results)
    assert run.returncode == 0, err
    statuses = {r.id: r.status for r in env.records()}
    assert all(statuses[n] in ("to-be-registered", "registered") for n in range(161, 171))
    assert all(statuses[n] == "to-be-deleted" for n in range(181, 191))
    assert all(statuses[n] == "update-reserved" for n in range(171, 181))
    assert all(statuses[n] == "registered" for n in range(1, 161))


@pytest.mark.slow
def test_no_secret_appears_anywhere(env: Env) -> None:
    smtp_secret, log = "smtp-secret-0815", env.tmp / "organiser.log"
    env.write_config(
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": "9",  # nothing listens: the alert fails and says so
            "security": "none",
            "username": "alerts",
            "sender": "organiser@example.org",
            "recipients": "ops@example.org",
        },
        logging={"file": str(log)},
    )
    secrets = {"ORGANISER_EMAIL_PASSWORD": smtp_secret}
    _marked(env, 4)
    outputs = []
    env.faults(fail_dois={env.records()[3].doi: 422})
    for args in (
        ["-v", "-s"],
        ["register", "1", "2", "4"],
        ["-v", "--dry-run", "-r"],
        ["-v", "-r"],
        ["config", "check"],
        ["status", "--json"],
        ["list", "--json"],
        ["show", "1", "--json"],
        ["-v", "--update-doi", "1"],
    ):
        outputs.append(env.run(*args, env=secrets))
    outputs.append(env.run("-v", "-s", env={**secrets, "ORGANISER_DATACITE_PASSWORD": "wrong-pw"}))
    assert outputs[3].returncode == 1 and "alert not sent" in outputs[3].stderr
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(env.tmp / "notify.sock"))
    notify.settimeout(60)
    daemon = env.popen(
        "daemon",
        env={**secrets, "JOURNAL_STREAM": "1:2", "NOTIFY_SOCKET": str(env.tmp / "notify.sock")},
    )
    try:
        states = [notify.recv(1024).decode()]
        while not (len(states) > 1 and "waiting for the next run" in states[-1]):
            states.append(notify.recv(1024).decode())  # the run at start, then idle
        daemon.terminate()
        out, err = daemon.communicate(timeout=10)
    finally:
        daemon.kill()
        notify.close()
    assert any("running the passes" in state for state in states)
    texts = [o.stdout + o.stderr for o in outputs] + [out + err, log.read_text()]
    with sqlite3.connect(env.tmp / "organiser.db") as db:
        for table in ("record", "history", "run", "notice"):
            texts += [repr(row) for row in db.execute(f"SELECT * FROM {table}")]
    assert len(log.read_text()) > 1000 and "record" in log.read_text()
    for secret in (PASSWORD, smtp_secret, "wrong-pw"):
        assert not [t for t in texts if secret in t], secret


@pytest.mark.slow
def test_a_terminal_gets_a_progress_bar(env: Env) -> None:
    _marked(env, 5)
    environ = clean_environment()
    environ.update(ORGANISER_CONFIG=str(env.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(ORGANISER), "-s"], stdout=follower, stderr=follower, env=environ
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=30)
    os.close(leader)
    text = shown.decode()
    assert process.returncode == 0
    assert "reserve " in text and "0/5" in text and "5/5" in text and "[####" in text
    assert "reserve: 5 done, 0 failed, 0 skipped" in text
    quiet = env.ok("-s")  # not a terminal: no bar
    assert quiet.stdout == "reserve: 0 done, 0 failed, 0 skipped\n"


@pytest.mark.slow
def test_new_metadata_marked_while_the_register_is_in_flight_still_goes_out(env: Env) -> None:
    _marked(env, 1)
    assert env.run("-s").returncode == 0
    env.ok("register", "1")
    env.faults(latency=1.5)
    run = env.popen("-r")
    wait_for(lambda: _publishing(env), what="the publish on its way")
    changed = json.loads((env.tmp / "in" / "record_00000.json").read_text())
    changed["data"]["attributes"]["titles"] = [{"title": "Changed during the register"}]
    (env.tmp / "new.json").write_text(json.dumps(changed))
    assert env.run("update", "1", str(env.tmp / "new.json")).returncode == 0
    _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    [record] = env.records()
    assert (record.status, record.remote_state) == ("update-before-registration", "findable")
    env.faults(latency=0)
    settled = env.run("-u", "-r")  # the newer mark goes out; the DOI stays findable
    assert settled.returncode == 0, settled.stderr
    [record] = env.records()
    assert (record.status, record.remote_state) == ("registered", "findable")
    held = env.server.datacite.dois[record.doi]
    assert held["state"] == "findable"
    assert held["attributes"]["titles"] == [{"title": "Changed during the register"}]
    outcomes = [h for h in env.history(record) if h[2] == "registered"]
    assert outcomes[0][:2] == ("update-before-registration", "update-before-registration")


@pytest.mark.slow
def test_a_closed_pipe_is_not_an_error(env: Env) -> None:
    _marked(env, 1000)  # about 250 KB of JSON: more than a pipe holds, so the writer meets it
    environ = clean_environment()
    environ.update(ORGANISER_CONFIG=str(env.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
    process = subprocess.Popen(
        [str(ORGANISER), "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # like `organiser list --json | head -c 10`
    err = process.stderr.read().decode()
    process.wait(timeout=30)
    assert process.returncode == 141 and err == ""
