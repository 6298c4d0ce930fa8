"""``/healthz``, ``/readyz`` and ``/metrics`` of ``organiser serve`` over real HTTP: outside
the token check (``/metrics`` behind it unless ``[api] public_metrics``), ``/readyz`` 503
naming the failed check when the database cannot be opened, and back to 200 when it can."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from playhouse.db_url import connect
from prometheus_client.parser import text_string_to_metric_families

from organiser.actions import tokens
from organiser.api.routes import health
from organiser.app import App
from organiser.storage.database import open_database
from organiser.storage.models import database_proxy

from conftest import ORGANISER, Env, write_records

PROMTOOL = shutil.which("promtool")
BASE = "/PDS_APIs/pds_doi_api/0.2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """One ``organiser serve`` of this test's env on a free port of 127.0.0.1."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = env.tmp / "serve.log"
        env.write_config(api={"port": str(self.port)})
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(ORGANISER), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env.environment(),
            )
        deadline = time.monotonic() + 30
        while True:  # until it listens
            assert self.process.poll() is None, self.log.read_text()
            try:
                requests.get(f"{self.url}/healthz", timeout=2)
                return
            except requests.ConnectionError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.05)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, timeout=30)

    def stop(self) -> str:
        """Stop it (SIGTERM, exit 0); give its log, which holds no traceback."""
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0, self.log.read_text()
        text = self.log.read_text()
        assert "Traceback" not in text
        return text


@pytest.fixture
def serve(env: Env) -> Iterator[list[Serve]]:
    """Give a list to put started servers in; they are stopped at the end."""
    started: list[Serve] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def _database_gone(env: Env) -> Iterator[None]:
    """Put a directory where the SQLite database was (so it cannot be opened) for the
    block; then put the database back."""
    database = env.tmp / "organiser.db"
    away = env.tmp / "away"
    away.mkdir()
    moved = list(env.tmp.glob("organiser.db*"))
    for path in moved:
        path.rename(away / path.name)
    database.mkdir()
    try:
        yield
    finally:
        database.rmdir()
        for path in moved:
            (away / path.name).rename(path)
        away.rmdir()


def _reader(env: Env) -> str:
    """Give a reader token (made in this process)."""
    open_database(env.db_url)
    return tokens.add("metrics", "reader", None, datetime.now(UTC))


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


@pytest.mark.slow
def test_probes_answer_without_a_token_and_readyz_follows_the_database(
    env: Env, serve: list[Serve]
) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    token = _reader(env)
    server = Serve(env)
    serve.append(server)

    health_answer = server.get("/healthz")
    assert (health_answer.status_code, health_answer.json()) == (200, {"status": "ok"})
    ready = server.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}

    refused = server.get("/metrics")
    assert refused.status_code == 401
    assert "bearer token is required" in refused.text
    scraped = server.get("/metrics", token)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = _families(scraped.text)
    assert found["organiser_records"][(("status", "to-be-reserved"),)] == 2
    assert found["organiser_database_up"][()] == 1
    if PROMTOOL:
        checked = subprocess.run(
            [PROMTOOL, "check", "metrics"], input=scraped.text, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr

    with _database_gone(env):
        down = server.get("/readyz")
        assert down.status_code == 503
        body = down.json()
        assert body["status"] == "not ready"
        assert set(body["checks"]) == {"database"}
        assert body["checks"]["database"].startswith("[database] url: cannot use sqlite:///")
        assert body["checks"]["database"].endswith("unable to open database file")
        assert server.get("/healthz").status_code == 200  # the process still answers
        for path in ("/metrics", "/PDS_APIs/pds_doi_api/0.2/dois"):  # the token is unreadable
            answer = server.get(path, token)
            assert answer.status_code == 503, (path, answer.status_code, answer.text)
            assert "the database cannot be used (the server's log says why)" in answer.text
    back = server.get("/readyz")
    assert (back.status_code, back.json()["status"]) == (200, "ready")
    assert token not in server.stop()


@pytest.mark.slow
def test_public_metrics_open_metrics_only(env: Env, serve: list[Serve]) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    env.write_config(api={"public_metrics": "true"})
    server = Serve(env)
    serve.append(server)
    scraped = server.get("/metrics")
    assert scraped.status_code == 200
    assert _families(scraped.text)["organiser_records"][(("status", "to-be-reserved"),)] == 1
    assert server.get(f"{BASE}/dois").status_code == 401  # the API still needs a token
    with _database_gone(env):
        scraped_down = server.get("/metrics")
        assert scraped_down.status_code == 200
        found_down = _families(scraped_down.text)
    assert found_down["organiser_database_up"][()] == 0
    assert "organiser_records" not in found_down
    assert found_down["organiser_build_info"]
    server.stop()


def test_readyz_on_an_unreachable_server_names_no_password(tmp_path: Path) -> None:
    secret = "pg-secret-5432"
    port = _free_port()  # nothing listens there
    config = tmp_path / "organiser.ini"
    url = f"postgresql://organiser:{secret}@127.0.0.1:{port}/organiser"
    config.write_text(f"[database]\nurl = {url}\n")
    app = App(str(config), environ={})
    saved = database_proxy.obj
    database_proxy.initialize(connect(url))  # not connected until used
    try:
        checks = health._checks(app)
    finally:
        if saved is not None:
            database_proxy.initialize(saved)
        else:
            database_proxy.initialize(None)
    assert set(checks) == {"database"}
    assert checks["database"] != "ok"
    assert secret not in checks["database"]
    assert f"127.0.0.1:{port}" in checks["database"]
