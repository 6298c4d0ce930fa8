"""Shared test fixtures: a DataCite stand-in on 127.0.0.1, a per-test configuration and
database, and a runner for the ``organiser`` command: in this process by default (through
the console script's ``main()``), as a process for what needs one."""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from click import formatting
from click.testing import CliRunner

from organiser.standin import DataCite, Faults, StandinServer
from organiser.storage.database import open_database
from organiser.storage.models import MODELS, History, Record, database_proxy

DATA = Path(__file__).parent / "data"
USER, PASSWORD, PREFIX = "DEMO.ORGANISER", "standin-secret-4711", "10.5072"
ORGANISER = Path(sys.executable).with_name("organiser")
#: The smallest DataCite attributes the schema accepts (no identifier of its own).
MINIMAL = {
    "titles": [{"title": "x"}],
    "creators": [{"name": "A"}],
    "publisher": "P",
    "publicationYear": "2026",
    "types": {"resourceTypeGeneral": "Dataset"},
}


#: The test PostgreSQL database (scripts/test starts one), if any.
PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")


def _fresh(url: str) -> Any:
    """Empty the database at ``url`` and open it at the current schema (every table, every
    index); give the peewee database."""
    database = open_database(url)
    database.drop_tables(list(MODELS))
    database.close()
    return open_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the current schema version, on SQLite and on the test PostgreSQL
    (skipped without one); give its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'o.db'}"
    elif PG_URL:
        url = PG_URL
    else:
        pytest.skip("ORGANISER_TEST_POSTGRES_URL not set")
    database = _fresh(url)
    yield url
    database.close()


@pytest.fixture
def pg() -> Iterator[str]:
    """The test PostgreSQL database, fresh (for what only row locks can show)."""
    if not PG_URL:
        pytest.skip("ORGANISER_TEST_POSTGRES_URL not set")
    database = _fresh(PG_URL)
    yield PG_URL
    database.close()


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    """A fresh stand-in serving real HTTP on 127.0.0.1 for one test."""
    server = StandinServer(
        DataCite({USER: (PASSWORD, [PREFIX]), "OTHER.CLIENT": ("x", ["10.9999"])})
    )
    # serve_forever checks for shutdown() every poll_interval (0.5 s by default: half a second
    # of every test's teardown)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    """Return as soon as ``condition()`` is true (checked every 10 ms); fail the test if it
    is not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what or condition}"
        time.sleep(0.01)


#: What systemd or an operator's shell may have set that would change how organiser behaves.
FOREIGN = ("JOURNAL_STREAM", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")


#: What the command may set for the whole process, put back after an in-process run.
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
NOISY = ("urllib3", "peewee", "apscheduler")
#: Loggers of this test process's own servers (aiosmtpd): kept out of a command's stderr.
HARNESS_LOGGERS = ("mail.log",)


def clean_environment() -> dict[str, str]:
    """Give this process's environment without organiser settings or systemd's variables."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_") and k not in FOREIGN
    }


def _width(environ: dict[str, str]) -> int:
    """Give the width click wraps help to in a process whose output is not a terminal
    (``COLUMNS``, else 80 columns; the command's ``max_content_width`` is 100)."""
    try:
        columns = int(environ.get("COLUMNS", "")) or 80
    except ValueError:
        columns = 80
    return max(min(columns, 100) - 2, 50)


def run_in_process(args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``organiser *args`` in this process with ``environ`` as its whole environment,
    through the console script's entry point (``main()``: its usage errors and exit codes),
    stdin empty and stdout/stderr captured; give the exit code and output like a finished
    process. What the command sets for the whole process (logging, structlog, signal
    handlers, the database proxy) is put back afterwards; an exception that escapes
    ``main()`` is a traceback on stderr and exit 1, as Python gives it."""
    from organiser.commands.main import main

    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in environ}
    overrides.update(environ)
    root = logging.getLogger()
    saved_logging = (list(root.handlers), root.level)
    saved_levels = {name: logging.getLogger(name).level for name in NOISY}
    harness = [logging.getLogger(name) for name in HARNESS_LOGGERS]
    saved_propagate = [logger.propagate for logger in harness]
    saved_structlog = structlog.get_config()
    saved_signals = {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS}
    saved_database = database_proxy.obj
    saved_argv, code = sys.argv, 0
    with CliRunner().isolation(input="", env=overrides) as (out, err, _):
        formatting.FORCED_WIDTH = _width(environ)
        for logger in harness:
            logger.propagate = False
        sys.argv = [str(ORGANISER), *args]
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
            for handler in root.handlers:
                if handler not in saved_logging[0]:
                    handler.close()
            root.handlers[:] = saved_logging[0]
            root.setLevel(saved_logging[1])
            for name, level in saved_levels.items():
                logging.getLogger(name).setLevel(level)
            for logger, propagate in zip(harness, saved_propagate, strict=True):
                logger.propagate = propagate
            structlog.configure(**saved_structlog)
            for sig, handler in saved_signals.items():
                signal.signal(sig, handler)
            if database_proxy.obj is not saved_database:
                if database_proxy.obj is not None:
                    database_proxy.obj.close()
                if saved_database is not None:
                    database_proxy.initialize(saved_database)
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["organiser", *args], code, stdout, stderr)


class Env:
    """One test's organiser set-up: config file, database, and a way to run the command."""

    def __init__(self, tmp: Path, server: StandinServer) -> None:
        self.tmp, self.server = tmp, server
        self.db_url = f"sqlite:///{tmp / 'organiser.db'}"
        self.config = tmp / "organiser.ini"
        self.settings: dict[str, dict[str, str]] = {
            "datacite": {
                "url": server.url,
                "username": USER,
                "prefix": PREFIX,
                "backoff": "0.01",
                "max_backoff": "0.05",
                "timeout": "5",
                "connect_timeout": "2",
            },
            "database": {"url": self.db_url},
            "organiser": {
                "retry_delay": "0",
                "batch_size": "7",
                "state_dir": str(tmp / "state"),
            },
        }
        self.write_config()

    def use_database(self, url: str) -> None:
        """Point this test at ``url`` (e.g. the test PostgreSQL server), emptied first."""
        database = open_database(url)
        database.drop_tables(list(MODELS))
        database.close()
        self.db_url = url
        self.write_config(database={"url": url})

    def write_config(self, **sections: dict[str, str]) -> None:
        """(Re)write the config file, merging ``sections`` into the defaults of the test."""
        for section, keys in sections.items():
            self.settings.setdefault(section, {}).update(keys)
        lines = []
        for section, keys in self.settings.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {v}" for k, v in keys.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """Give the environment a run of this test's organiser sees: this process's, without
        organiser settings or systemd's variables, plus the config, the password and ``env``."""
        environ = clean_environment()
        environ.update(ORGANISER_CONFIG=str(self.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        environ.update(env or {})
        return environ

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``organiser`` with this test's config in this process, through the console
        script's own entry point (:func:`organiser.commands.main.main`); give its exit code and
        output like a finished process. Off the main thread (signal handlers and the
        command's state belong to it) it runs as a process instead (:meth:`run_process`).
        ``timeout`` applies to a process only."""
        if threading.current_thread() is not threading.main_thread():
            return self.run_process(*args, env=env, timeout=timeout)
        return run_in_process(list(args), self.environment(env))

    def run_process(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed ``organiser`` as a process with this test's config (for what
        needs one: signals, exit by signal, the run lock between processes, a terminal); give
        the finished process."""
        return subprocess.run(
            [str(ORGANISER), *args],
            capture_output=True,
            text=True,
            env=self.environment(env),
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``organiser`` in process like :meth:`run` for a step the test relies on; give
        the result. Fails the test, showing stderr, unless it exits 0."""
        result = self.run(*args, env=env)
        assert result.returncode == 0, (
            f"organiser {' '.join(args)} exited {result.returncode}: {result.stderr}"
        )
        return result

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the installed ``organiser`` with this test's config; give the process."""
        return subprocess.Popen(
            [str(ORGANISER), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(env),
        )

    def records(self) -> list[Record]:
        """Give every record, as the database holds it now."""
        open_database(self.db_url)
        return list(Record.select().order_by(Record.id))

    def history(self, record: Record) -> list[tuple[str | None, str, str]]:
        open_database(self.db_url)
        rows = History.select().where(History.record == record.id).order_by(History.id)
        return [(h.from_status, h.to_status, h.action) for h in rows]

    def snapshot(self) -> list[tuple[Any, ...]]:
        """Give every row of both tables, to compare before and after a refused command."""
        if not (self.tmp / "organiser.db").exists():
            return []
        open_database(self.db_url)
        return [tuple(r) for r in Record.select().tuples()] + [
            tuple(h) for h in History.select().tuples()
        ]

    def faults(self, **faults: Any) -> None:
        self.server.datacite.set_faults(Faults(**faults))

    @property
    def remote(self) -> dict[str, str]:
        """DOI -> state at the stand-in."""
        return self.server.datacite.states()


@pytest.fixture
def env(tmp_path: Path, standin: StandinServer) -> Env:
    return Env(tmp_path, standin)


def template() -> dict[str, Any]:
    """Give writable attributes of a real draft record (InSight cameras) without its DOI."""
    data = json.loads((DATA / "datacite" / "draft_insight_cameras.json").read_text())
    attributes = data["data"]["attributes"]
    for key in ("doi", "prefix", "suffix", "state", "xml", "created", "updated"):
        attributes.pop(key, None)
    return attributes


def write_records(folder: Path, count: int, start: int = 0, **changes: Any) -> list[str]:
    """Write ``count`` JSON metadata files (one record each); give their identifiers."""
    folder.mkdir(parents=True, exist_ok=True)
    base = template()
    identifiers = []
    for n in range(start, start + count):
        attributes = copy.deepcopy(base)
        identifier = f"urn:nasa:pds:organiser_test_{n:05d}::1.0"
        attributes["identifiers"] = [{"identifier": identifier, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": f"Organiser test bundle {n}"}]
        attributes.update(changes)
        (folder / f"record_{n:05d}.json").write_text(
            json.dumps({"data": {"attributes": attributes}})
        )
        identifiers.append(identifier)
    return identifiers
