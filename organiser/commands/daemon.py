"""``organiser daemon``: the scheduler. Each tick runs the same run sequence as cron and the
systemd timer (:func:`organiser.actions.run.run_passes`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import click
import structlog
from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from organiser.actions import check as check_action
from organiser.actions import metrics
from organiser.actions.run import run_passes
from organiser.app import App
from organiser.commands.cli import cli, configure_logging
from organiser.commands.signals import die
from organiser.config import ConfigError
from organiser.config_parsers import OFF
from organiser.domain.passes import ORDER
from organiser.engine.passes import Observer
from organiser.engine.stop import StopFlag
from organiser.errors import EXIT_OK, Interrupted, OrganiserError, UserError
from organiser.lock import LockHeld
from organiser.notify.sdnotify import notify, reloading, watchdog_interval
from organiser.notify.watchdog import Watchdog, longest_silence
from organiser.storage.database import DRIVER_ERRORS, classify

log = structlog.get_logger("organiser.daemon")
JOB, CHECK_JOB, HEARTBEAT_JOB = "passes", "check", "watchdog"
#: Test seam, not a setting: the second of the minute at which the crons fire (default 0), so
#: that a test of the schedule waits seconds instead of up to a minute.
TEST_SECOND = "ORGANISER_TEST_CRON_SECOND"


class Daemon:
    """A ``BlockingScheduler`` whose job runs in the main thread (so a signal handler and
    the run share it): ``coalesce``, one instance at a time, an explicit misfire grace."""

    def __init__(self, app: App, quiet: bool, verbose: bool) -> None:
        self.app, self.quiet, self.verbose = app, quiet, verbose
        self.stop = StopFlag()
        self.busy = False
        self.reload_pending = False
        self._stopping = False
        self.scheduler = BlockingScheduler(timezone=UTC, executors={"default": DebugExecutor()})
        interval = watchdog_interval(app.environ)  # under systemd's WatchdogSec=
        self.watchdog = Watchdog(interval) if interval else None
        self.scheduler.add_listener(self._started, EVENT_SCHEDULER_STARTED)

    def serve(self) -> int:
        """Schedule the passes and run until SIGTERM/SIGINT; give the exit code (0).

        Raises ``ConfigError`` (no schedule, no account), ``BindingMismatch`` (the database
        is bound to another DataCite endpoint or account) or database errors before starting.
        """
        self.app.require_datacite()  # fail now, not at the first tick, without an account
        self.app.open_db()
        from organiser.actions import binding

        binding.guard(self.app, "organiser daemon", bind=False)  # nor bound elsewhere
        try:
            with self.app.run_lock.held_for():
                pass
        except LockHeld as exc:
            log.warning("the run lock is taken now; runs are skipped while it is", reason=str(exc))
        self._schedule()
        metrics.write_configured(self.app)  # the textfile exists from the start
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._terminate)
        signal.signal(signal.SIGHUP, self._hangup)
        scheduler = self.app.config["scheduler"]
        log.info(
            "daemon started",
            cron=scheduler["cron"],
            run_at_start=scheduler["run_at_start"],
            check_cron=scheduler["check_cron"],
        )
        if self.watchdog:  # pinged from the scheduler's loop: a stuck scheduler stops it
            self.scheduler.add_job(
                self._heartbeat,
                IntervalTrigger(seconds=self.watchdog.interval),
                id=HEARTBEAT_JOB,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        try:
            self.scheduler.start()  # returns after shutdown
        finally:
            if self.watchdog:
                self.watchdog.stop()
        log.info("daemon stopped", reason=self.stop.reason or "shutdown")
        return EXIT_OK

    def _started(self, _event: SchedulerEvent) -> None:
        """The scheduler runs (its jobs can be run, it can be shut down): tell systemd READY,
        start the watchdog's pings; or stop at once if a signal came in the meantime."""
        if self.stop.requested:
            self._shutdown()
            return
        notify("READY=1\nSTATUS=waiting for the next run")
        if self.watchdog:
            self._heartbeat()
            self.watchdog.start()

    def _heartbeat(self) -> None:
        """The scheduler's loop is alive: the watchdog may ping until two more intervals."""
        if self.watchdog:
            self.watchdog.alive(2 * self.watchdog.interval)

    def progress(self, *_: object) -> None:
        """A job made progress: the watchdog may ping for one more longest silence."""
        if self.watchdog:
            self.watchdog.alive(longest_silence(self.app.config))

    def _schedule(self, first: bool = True) -> None:
        """(Re)schedule the passes and the drift check from ``[scheduler]``. Raises
        ``UserError`` when neither is scheduled."""
        scheduler = self.app.config["scheduler"]
        if scheduler["cron"] == OFF and scheduler["check_cron"] == OFF:
            raise UserError("[scheduler] cron: off; the daemon has nothing to schedule")
        jobs = (
            (JOB, scheduler["cron"], self.tick),
            (CHECK_JOB, scheduler["check_cron"], self.check),
        )
        for job, cron, function in jobs:
            if self.scheduler.get_job(job):
                self.scheduler.remove_job(job)
            if cron == OFF:
                continue
            start_now = first and job == JOB and scheduler["run_at_start"]
            self.scheduler.add_job(
                function,
                self._trigger(cron),
                id=job,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=scheduler["misfire_grace_time"],
                **({"next_run_time": datetime.now(UTC)} if start_now else {}),
            )

    def _trigger(self, cron: str) -> CronTrigger:
        """Give the trigger for a (validated) crontab expression, at second 0 of its minutes
        or at the second :data:`TEST_SECOND` names. Raises ``ValueError`` for a bad second."""
        second = self.app.environ.get(TEST_SECOND)
        if not second:
            return CronTrigger.from_crontab(cron, timezone=UTC)
        minute, hour, day, month, day_of_week = cron.split()
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=UTC,
        )

    def tick(self) -> None:
        """One scheduled run: update → reserve → register → delete. Never raises."""
        self._job("run", "running the passes", self._passes)

    def check(self) -> None:
        """One scheduled drift check (``organiser check``, mailed with the alerts). Never
        raises."""
        self._job("check", "checking for drift", self._check)

    def _passes(self) -> None:
        outcome = run_passes(self.app, ORDER, "organiser daemon", self.stop, _Progress(self))
        result = outcome.result
        if outcome.alert_warning:
            log.warning("alert not sent", error=outcome.alert_warning)
        if result.outage:
            log.error("run stopped: DataCite unavailable", reason=result.outage)

    def _check(self) -> None:
        repair = self.app.config["scheduler"]["check_repair"]
        actor = "organiser daemon (check" + (" --repair)" if repair else ")")
        result = check_action.check(self.app, actor, repair=repair, progress=self.progress)
        if result.alert_warning:
            log.warning("alert not sent", error=result.alert_warning)

    def _job(self, what: str, status: str, work: Callable[[], None]) -> None:
        """Do one scheduled job in the main thread, logging what stops it."""
        if self.stop.requested:
            return
        self.busy = True
        self.progress()
        notify(f"STATUS={status}")
        try:
            self.app.reconnect_db()  # a database server restarted between ticks is fine
            work()
        except LockHeld as exc:
            log.warning(f"{what} skipped", reason=str(exc))
        except Interrupted as exc:
            log.warning(f"{what} interrupted", reason=str(exc))
        except OrganiserError as exc:
            log.error(f"{what} failed", error=str(exc))
        except DRIVER_ERRORS as exc:
            log.error(
                f"{what} failed", error=str(classify(exc, self.app.config["database"]["url"]))
            )
        except Exception:
            log.exception(f"internal error in a scheduled {what}")
        finally:
            self.busy = False
            metrics.write_configured(self.app)  # after every job, however it ended
            notify("STATUS=waiting for the next run")
            if self.reload_pending:
                self._reload()
            if self.stop.requested:
                self._shutdown()

    def _shutdown(self) -> None:
        """Stop the scheduler once it is done with the current job: from another thread,
        which waits for the scheduler's job-store lock (held while a job is handled). Only
        once, however many signals come. Before the scheduler runs, :meth:`_started` does it."""
        if not self._stopping and self.scheduler.running:
            self._stopping = True
            threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": False}).start()

    def _terminate(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.requested and self.busy:
            die(signum)
        self.stop.request(name)
        notify("STOPPING=1")
        log.info("stopping", signal=name, busy=self.busy)
        if not self.busy:
            self._shutdown()

    def _hangup(self, _signum: int, _frame: FrameType | None) -> None:
        if self.busy:
            self.reload_pending = True
        else:
            self._reload()

    def _reload(self) -> None:
        """Re-read the configuration (SIGHUP); a broken file is reported, the old one kept.
        systemd is told RELOADING, then READY once the new (or the kept) one is in force."""
        self.reload_pending = False
        reloading()
        try:
            self._reread()
        finally:
            notify("READY=1\nSTATUS=waiting for the next run")

    def _reread(self) -> None:
        old = self.app.config
        try:
            self.app.reload()
            self.app.require_datacite()  # the account is checked as at start
            self._schedule(first=False)  # checks before it changes any job
            configure_logging(self.app, self.quiet, self.verbose, daemon=True)
        except (ConfigError, UserError) as exc:
            self.app.use_config(old)
            log.error("configuration not reloaded; keeping the old one", error=str(exc))
            return
        for section, key in (("database", "url"), ("organiser", "state_dir")):
            if self.app.config[section][key] != old[section][key]:
                log.warning(f"[{section}] {key} changed: it takes effect at the next restart")
        scheduler = self.app.config["scheduler"]
        log.info(
            "configuration reloaded", cron=scheduler["cron"], check_cron=scheduler["check_cron"]
        )


class _Progress(Observer):
    """Renews the daemon's watchdog lease at each record a pass handles."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def pass_started(self, name: str, due: int) -> None:
        self.daemon.progress()

    def record_handled(self, name: str, record: object, outcome: str) -> None:
        self.daemon.progress()


@cli.command()
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """Run the passes on a schedule ([scheduler] cron, UTC; default every 15 minutes).

    Each run is the same as `organiser -u -s -r -d`, under the same host lock (a run that
    finds another in progress is skipped). With [scheduler] check_cron it also runs
    `organiser check` on that schedule (drift from DataCite, mailed with the alerts;
    check_repair = true marks it for repair). SIGTERM or SIGINT finishes the record in flight,
    releases claims and exits 0; SIGHUP re-reads the configuration (a broken file is
    reported and the old one kept). Logs one line per record: JSON under systemd.
    Tells systemd READY, RELOADING and STOPPING when NOTIFY_SOCKET is set (Type=notify), and
    with WATCHDOG_USEC (WatchdogSec=) sends WATCHDOG=1 while it makes progress.
    """
    app: App = ctx.obj
    ctx.exit(Daemon(app, ctx.meta["quiet"], ctx.meta["verbose"]).serve())
