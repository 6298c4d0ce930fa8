"""What the machine does wrong: unusable database paths and files, a database server that
goes away, a full disk, nonsense configuration, a DataCite URL that is not DataCite. Each is
one line on stderr, no traceback, exit 2 (fix the configuration) or 75 (try again later)."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import Env, write_records


def _one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_database_directory_that_cannot_be_created(env: Env) -> None:
    env.write_config(database={"url": "sqlite:////proc/organiser-test/o.db"})
    line = _one_line(env.run("token", "add", "t", "--role", "reader"), 2)  # creates the database
    assert line == (
        "Error: [database] url: cannot open sqlite:////proc/organiser-test/o.db: "
        "[Errno 2] No such file or directory: '/proc/organiser-test'"
    )


def test_a_parent_path_that_is_a_file(env: Env) -> None:
    (env.tmp / "plain").write_text("x")
    env.write_config(database={"url": f"sqlite:///{env.tmp}/plain/o.db"})
    line = _one_line(env.run("token", "add", "t", "--role", "reader"), 2)  # creates the database
    assert line.startswith(f"Error: [database] url: cannot open sqlite:///{env.tmp}/plain/o.db:")
    assert "Not a directory" in line or "File exists" in line


def test_a_file_that_is_not_a_database(env: Env) -> None:
    (env.tmp / "organiser.db").write_bytes(b"this is not a database, just text\n" * 200)
    line = _one_line(env.run("status"), 2)
    assert line == f"Error: [database] url: cannot use {env.db_url}: file is not a database"
    assert (env.tmp / "organiser.db").read_bytes().startswith(b"this is not")


def test_a_read_only_database_file(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("-s").returncode == 0
    database = env.tmp / "organiser.db"
    os.chmod(database, 0o444)
    immutable = os.geteuid() == 0  # root writes to a 0444 file anyway: make it immutable
    if immutable:
        made = subprocess.run(["chattr", "+i", str(database)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i fails here: {made.stderr!r}")
    try:
        result = env.run("register", "1")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(database)], check=True)
        os.chmod(database, 0o644)
    line = _one_line(result, 2)
    assert line.startswith(f"Error: [database] url: cannot use {env.db_url}: "), line
    assert "readonly" in line
    assert env.records()[0].status == "reserved"


def test_a_postgresql_url_with_a_bad_port(env: Env) -> None:
    env.write_config(database={"url": "postgresql://org:pw@127.0.0.1:five/db"})
    line = _one_line(env.run("list"), 2)
    assert line.startswith(
        "Error: [database] url: cannot open postgresql://org:***@127.0.0.1:five/db"
    )
    assert "pw@" not in line


@pytest.mark.slow
def test_a_full_disk_in_the_middle_of_a_pass(env: Env) -> None:
    write_records(env.tmp / "in", 60)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    size = (env.tmp / "organiser.db").stat().st_size
    wal = env.tmp / "organiser.db-wal"
    limit = size + (wal.stat().st_size if wal.exists() else 0) + 40_000

    def small_disk() -> None:  # writes beyond the limit fail as on a full file system
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    from conftest import ORGANISER, PASSWORD, clean_environment

    environ = clean_environment()
    environ.update(ORGANISER_CONFIG=str(env.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
    result = subprocess.run(
        [str(ORGANISER), "-s"],
        capture_output=True,
        text=True,
        env=environ,
        preexec_fn=small_disk,
        timeout=120,
        check=False,
    )
    line = _one_line(result, 75)
    assert line.startswith(f"Error: database {env.db_url}: ")
    # nothing is lost: a run with room to write carries on where it stopped
    assert env.run("-s").returncode == 0
    records = env.records()
    assert {r.status for r in records} == {"reserved"}
    assert len(env.remote) == 60 and all(r.doi in env.remote for r in records)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("section", "key", "value", "rule"),
    [
        ("datacite", "timeout", "nan", "must be a number from 0.1 to 3600"),
        ("datacite", "timeout", "inf", "must be a number from 0.1 to 3600"),
        ("datacite", "timeout", "0.0001", "must be a number from 0.1 to 3600"),
        ("organiser", "retry_delay", "inf", "must be a number from 0 to 604800"),
        ("organiser", "claim_timeout", "nan", "must be a number from 60 to 604800"),
        ("datacite", "retries", "1e9", "is not a number: it must be a whole number from 1 to 20"),
        ("datacite", "url", "https://api.datacite.org/dois", "must be the API's base URL"),
        ("datacite", "url", "https://api.datacite.org?x=1", "must be the API's base URL"),
        ("scheduler", "cron", "every 15 minutes", "is not a crontab expression"),
        ("email", "security", "tls", "must be one of starttls, ssl, none"),
    ],
)
def test_configuration_nonsense_is_refused(
    env: Env, section: str, key: str, value: str, rule: str
) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    before = env.snapshot()
    env.write_config(**{section: {key: value}})
    line = _one_line(env.run("-s"), 2)
    assert line.startswith(f"Error: {env.config}: [{section}] {key}: {value!r} {rule}"), line
    assert env.snapshot() == before and env.server.datacite.seen == []


class _WebSite(BaseHTTPRequestHandler):
    """An ordinary web server: every path is an HTML 404 page."""

    def _page(self) -> None:
        body = b"<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _page

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_a_datacite_url_that_is_not_datacite_stops_at_once(env: Env) -> None:
    write_records(env.tmp / "in", 20)
    env.ok("reserve", str(env.tmp / "in"))
    site = ThreadingHTTPServer(("127.0.0.1", 0), _WebSite)
    threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        env.write_config(datacite={"url": f"http://127.0.0.1:{site.server_address[1]}"})
        result = env.run("-s")
    finally:
        site.shutdown()
    assert result.returncode == 75
    assert result.stdout == "reserve: 0 done, 0 failed, 0 skipped\n"
    assert result.stderr == (
        "error: run stopped, records not yet sent keep their state: POST /dois: 404 answer is "
        "text/html, not JSON; is [datacite] url DataCite's REST API?\n"
    )
    records = env.records()
    assert {(r.status, r.attempts, r.last_error) for r in records} == {("to-be-reserved", 0, None)}


def test_config_check_masks_credentials_in_urls(env: Env) -> None:
    env.write_config(datacite={"url": "https://user:url-secret@api.test.datacite.org"})
    result = env.run("config", "check")
    assert result.returncode == 0, result.stderr
    assert "url = https://user:***@api.test.datacite.org" in result.stdout.splitlines()
    assert "url-secret" not in result.stdout and "standin-secret-4711" not in result.stdout


@pytest.mark.slow
def test_an_unexpected_error_is_one_line_with_the_traceback_in_the_state_dir(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    with sqlite3.connect(env.tmp / "organiser.db") as db:
        db.execute("UPDATE record SET attributes = '{broken'")
    result = env.run("show", "1", "--json")
    line = _one_line(result, 70)
    trace = Path(env.settings["organiser"]["state_dir"]) / "last-error.log"
    assert line == (
        "Error: internal error: JSONDecodeError: Expecting property name enclosed in double "
        f"quotes: line 1 column 2 (char 1) (traceback in {trace})"
    )
    assert trace.read_text().startswith("Traceback (most recent call last):")
    env.write_config(logging={"file": str(env.tmp / "organiser.log")})
    line = _one_line(env.run("show", "1", "--json"), 70)
    assert line.endswith(f"(traceback in {env.tmp / 'organiser.log'})")
    assert "Traceback (most recent call last)" in (env.tmp / "organiser.log").read_text()


PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set")
def test_postgresql_going_away_in_the_middle_of_a_run(env: Env) -> None:
    import psycopg2

    assert PG_URL is not None
    env.use_database(PG_URL)
    write_records(env.tmp / "in", 30)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    env.faults(latency=0.1)
    run = env.popen("-s")
    try:
        deadline = time.monotonic() + 30
        while sum(r.status == "reserved" for r in env.records()) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with psycopg2.connect(PG_URL) as admin:
            admin.autocommit = True
            admin.cursor().execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 75, err
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("Error: database postgresql://")
    env.faults(latency=0)
    assert env.run("-s").returncode == 0  # the next run carries on; the dead run's claims freed
    records = env.records()
    assert {r.status for r in records} == {"reserved"}
    assert sorted(env.remote) == sorted(r.doi for r in records)
