"""The daemon schedules ``organiser check`` on ``[scheduler] check_cron`` beside the passes,
and a scheduled check mails its findings like the command does."""

from __future__ import annotations

import os

import pytest
from apscheduler.triggers.cron import CronTrigger

from organiser.app import App
from organiser.commands.daemon import CHECK_JOB, JOB, Daemon
from organiser.storage.models import Notice

from conftest import PASSWORD, Env, write_records


@pytest.fixture
def app(env: Env, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("ORGANISER_DATACITE_PASSWORD", PASSWORD)
    return App(str(env.config))


def _fields(trigger: CronTrigger) -> dict[str, str]:
    return {f.name: str(f) for f in trigger.fields}


def test_check_cron_adds_a_job_of_its_own(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.write_config(scheduler={"cron": "*/15 * * * *", "check_cron": "30 2 * * 0"})
    monkeypatch.setenv("ORGANISER_DATACITE_PASSWORD", PASSWORD)
    daemon = Daemon(App(str(env.config)), quiet=True, verbose=False)
    daemon._schedule()
    check = daemon.scheduler.get_job(CHECK_JOB)
    assert _fields(check.trigger) == _fields(CronTrigger.from_crontab("30 2 * * 0"))
    assert daemon.scheduler.get_job(JOB) is not None


def test_without_check_cron_there_is_no_check_job(app: App) -> None:
    daemon = Daemon(app, quiet=True, verbose=False)
    daemon._schedule()
    assert daemon.scheduler.get_job(CHECK_JOB) is None
    assert app.config["scheduler"]["check_cron"] == "off"


@pytest.mark.slow
def test_a_scheduled_check_with_repair_marks_and_notes_the_drift(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_records(env.tmp / "in", 2)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("-s").returncode == 0
    dois = [r.doi for r in env.records()]
    env.server.datacite.dois[dois[0]]["attributes"]["url"] = "https://example.org/moved"
    env.write_config(scheduler={"check_cron": "0 3 * * *", "check_repair": "true"})
    monkeypatch.setenv("ORGANISER_DATACITE_PASSWORD", PASSWORD)
    daemon = Daemon(App(str(env.config)), quiet=True, verbose=False)
    daemon.app.open_db()
    daemon.check()  # what the job does when its time comes
    assert [r.status for r in env.records()] == ["update-reserved", "reserved"]
    [notice] = list(Notice.select().where(Notice.key == "drift"))
    assert "https://example.org/moved" in notice.detail
    assert os.environ["ORGANISER_DATACITE_PASSWORD"] not in notice.detail
