"""The metrics textfile against the stand-in: what ``status --prometheus`` and
``[organiser] metrics_textfile`` hold after runs that succeed, stop on an outage, or are
pushes by hand; that it is written on every way out of a run; and that it passes
``promtool check metrics`` (Debian's prometheus package; skipped without it)."""

from __future__ import annotations

import platform
import shutil
import signal
import subprocess
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from organiser import __version__
from organiser.lock import RunLock
from organiser.storage.database import open_database
from organiser.storage.models import Run

from conftest import Env, wait_for, write_records

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)
WRONG = {"ORGANISER_DATACITE_PASSWORD": "wrong-datacite-password-5150"}


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Give every sample of an exposition: name -> sorted labels -> value."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found: dict[str, Any], name: str, **labels: str) -> float:
    """Give the value of sample ``name`` with exactly ``labels``."""
    return float(found[name][tuple(sorted(labels.items()))])


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """Give ``promtool check metrics``'s verdict on ``text`` (read from stdin)."""
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )


def finished_runs(env: Env) -> list[tuple[str, str, float]]:
    """Give (actor, outcome, end as Unix time) of every finished run, oldest first."""
    open_database(env.db_url)
    rows = Run.select().where(Run.finished_at.is_null(False)).order_by(Run.id)
    return [(r.actor, r.outcome, r.finished_at.replace(tzinfo=UTC).timestamp()) for r in rows]


@pytest.fixture
def textfile(env: Env) -> Path:
    """Give the ``[organiser] metrics_textfile`` this test's runs write."""
    path = env.tmp / "textfile" / "organiser.prom"
    path.parent.mkdir()
    env.write_config(organiser={"metrics_textfile": str(path)})
    return path


def test_status_textfile_holds_the_queue_and_passes_promtool(env: Env) -> None:
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    env.ok("register", "1")
    target = env.tmp / "out" / "organiser.prom"
    target.parent.mkdir()
    result = env.run("-q", "status", "--prometheus", str(target))
    assert (result.returncode, result.stdout) == (0, "")
    assert [p.name for p in target.parent.iterdir()] == ["organiser.prom"]  # no temp file
    assert target.stat().st_mode & 0o777 == 0o644  # node_exporter's user reads it
    text = target.read_text()
    found = samples(text)
    assert value(found, "organiser_build_info", version=__version__, python=_python()) == 1
    assert value(found, "organiser_database_up") == 1
    assert value(found, "organiser_records", status="reserved") == 2
    assert value(found, "organiser_records", status="to-be-registered") == 1
    assert value(found, "organiser_records", status="deleted") == 0
    assert value(found, "organiser_account_records", account="datacite") == 3
    assert value(found, "organiser_records_failing", account="datacite") == 0
    assert value(found, "organiser_oldest_waiting_seconds", status="to-be-registered") >= 0
    assert value(found, "organiser_runs_total", kind="passes", outcome="ok") == 1
    assert value(found, "organiser_runs_total", kind="push", outcome="ok") == 0
    (run,) = finished_runs(env)
    assert value(found, "organiser_last_success_timestamp_seconds", **{"pass": "reserve"}) == (
        pytest.approx(run[2])
    )
    assert value(found, "organiser_last_run_outcome", outcome="ok") == 1
    assert value(found, "organiser_last_run_records", result="done", **{"pass": "reserve"}) == 3
    if PROMTOOL:
        checked = promtool_check(text)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_last_success_moves_only_when_a_run_gets_through(env: Env, textfile: Path) -> None:
    write_records(env.tmp / "in", 4)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")  # the run itself writes the textfile on its way out
    first = samples(textfile.read_text())
    (ok_run,) = finished_runs(env)
    success = {"pass": "reserve"}
    assert value(first, "organiser_last_success_timestamp_seconds", **success) == pytest.approx(
        ok_run[2]
    )

    env.ok("register", "1", "2")
    assert env.run("-r", env=WRONG).returncode == 75  # DataCite refuses the credentials
    after_outage = samples(textfile.read_text())
    assert finished_runs(env)[-1][1] == "outage"
    assert value(after_outage, "organiser_last_run_outcome", outcome="outage") == 1
    assert value(after_outage, "organiser_runs_total", kind="passes", outcome="outage") == 1
    assert value(after_outage, "organiser_last_success_timestamp_seconds", **success) == (
        value(first, "organiser_last_success_timestamp_seconds", **success)
    )
    assert (("pass", "register"),) not in after_outage["organiser_last_success_timestamp_seconds"]

    env.ok("-r")
    moved = samples(textfile.read_text())
    latest = finished_runs(env)[-1]
    assert latest[1] == "ok"
    assert value(
        moved, "organiser_last_success_timestamp_seconds", **{"pass": "register"}
    ) == pytest.approx(latest[2])
    assert value(moved, "organiser_last_success_timestamp_seconds", **success) == (
        value(first, "organiser_last_success_timestamp_seconds", **success)
    )  # this run had no reserve pass
    assert value(moved, "organiser_last_run_outcome", outcome="ok") == 1
    assert value(moved, "organiser_runs_total", kind="passes", outcome="ok") == 2


def test_a_push_by_hand_does_not_change_the_scheduled_run_outcome(env: Env, textfile: Path) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    env.ok("delete", "1")
    refused = env.run("--delete-doi", "1", env=WRONG)  # DataCite refuses the credentials
    assert refused.returncode == 75, refused.stderr
    actor, outcome, _ = finished_runs(env)[-1]
    assert (actor, outcome) == ("organiser --delete-doi 1", "outage")
    found = samples(textfile.read_text())  # written by the push on its way out
    assert value(found, "organiser_last_run_outcome", outcome="ok") == 1
    assert value(found, "organiser_last_run_outcome", outcome="outage") == 0
    assert value(found, "organiser_last_run_records", result="done", **{"pass": "reserve"}) == 2
    assert value(found, "organiser_runs_total", kind="push", outcome="outage") == 1
    assert value(found, "organiser_runs_total", kind="passes", outcome="outage") == 0
    assert WRONG["ORGANISER_DATACITE_PASSWORD"] not in textfile.read_text()


def test_a_run_writes_the_textfile_however_it_ends(env: Env, textfile: Path) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    assert not textfile.exists()  # marking is not a run
    with RunLock(env.tmp / "state", env.db_url).held_for():  # another run is under way
        skipped = env.run("-s")
    assert skipped.returncode == 75, skipped.stderr
    found = samples(textfile.read_text())
    assert value(found, "organiser_database_up") == 1
    assert value(found, "organiser_records", status="to-be-reserved") == 2
    assert "organiser_last_run_outcome" not in found  # no run was logged

    textfile.write_text("stale\n")
    env.ok("-s")
    assert value(samples(textfile.read_text()), "organiser_records", status="reserved") == 2


def test_status_textfile_writes_the_configured_file_as_exec_stop_post_does(
    env: Env, textfile: Path
) -> None:
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    quiet = env.run("-q", "status", "--textfile")
    assert (quiet.returncode, quiet.stdout) == (0, ""), quiet.stderr
    found = samples(textfile.read_text())
    assert value(found, "organiser_records", status="to-be-reserved") == 3
    textfile.unlink()
    env.write_config(organiser={"metrics_textfile": ""})  # no textfile configured: no file
    assert env.run("-q", "status", "--textfile").returncode == 0
    assert list(textfile.parent.iterdir()) == []


def test_an_unwritable_textfile_is_a_warning_not_a_failed_run(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    missing = env.tmp / "no-such-folder" / "organiser.prom"
    env.write_config(organiser={"metrics_textfile": str(missing)})
    result = env.run("-s")
    assert result.returncode == 0, result.stderr
    assert "metrics textfile not written" in result.stderr
    assert f"[organiser] metrics_textfile {missing}: cannot write" in result.stderr
    assert [r.status for r in env.records()] == ["reserved"]


def test_status_prometheus_without_the_database_says_it_is_down(env: Env) -> None:
    target = env.tmp / "organiser.prom"
    result = env.run("status", "--prometheus", str(target))
    assert result.returncode == 2  # no database yet: status says where it looked
    assert result.stderr.startswith("Error: no database at")
    found = samples(target.read_text())
    assert value(found, "organiser_database_up") == 0
    assert value(found, "organiser_build_info", version=__version__, python=_python()) == 1
    assert "organiser_records" not in found
    unwritable = env.run("status", "--prometheus", str(env.tmp / "missing" / "x.prom"))
    assert unwritable.returncode == 2
    assert unwritable.stderr.startswith(f"Error: --prometheus {env.tmp / 'missing' / 'x.prom'}")


def test_status_prometheus_on_an_unreachable_server_names_no_password(env: Env) -> None:
    secret = "pg-secret-8086"
    env.write_config(database={"url": f"postgresql://organiser:{secret}@127.0.0.1:9/organiser"})
    target = env.tmp / "organiser.prom"
    result = env.run("status", "--prometheus", str(target))
    assert result.returncode == 75, result.stderr  # the database server is unavailable
    assert secret not in result.stderr and secret not in result.stdout
    assert "127.0.0.1:9" in result.stderr
    text = target.read_text()
    assert secret not in text
    assert value(samples(text), "organiser_database_up") == 0
    if PROMTOOL:
        checked = promtool_check(text)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_promtool_accepts_the_textfile_of_an_empty_database(env: Env) -> None:
    env.ok("token", "add", "t", "--role", "reader")  # creates the database
    target = env.tmp / "organiser.prom"
    env.ok("status", "--prometheus", str(target))
    checked = promtool_check(target.read_text())
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
def test_the_daemon_rewrites_the_textfile_after_each_run(env: Env, textfile: Path) -> None:
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    env.write_config(scheduler={"cron": "0 0 1 1 *", "run_at_start": "true"})
    daemon = env.popen("daemon")
    try:
        wait_for(lambda: _ran(textfile), what="the textfile after the daemon's first run")
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    found = samples(textfile.read_text())
    ((actor, outcome, ended),) = finished_runs(env)
    assert (actor, outcome) == ("organiser daemon", "ok")
    assert value(found, "organiser_last_success_timestamp_seconds", **{"pass": "reserve"}) == (
        pytest.approx(ended)
    )
    assert value(found, "organiser_runs_total", kind="passes", outcome="ok") == 1
    assert value(found, "organiser_records", status="reserved") == 3


def _ran(textfile: Path) -> bool:
    """Tell whether ``textfile`` shows a finished run that went well."""
    if not textfile.exists():
        return False
    found = samples(textfile.read_text())
    return found.get("organiser_last_run_outcome", {}).get((("outcome", "ok"),)) == 1


def _python() -> str:
    return platform.python_version()
