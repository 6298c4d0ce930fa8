"""What a run opens it closes: a long-running daemon must not keep one run's database
connections or HTTP connections until the cyclic garbage collector happens to come. The
collector is switched off in these tests, so only deterministic closing passes them."""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from organiser.actions import run as run_action
from organiser.app import App
from organiser.datacite.client import DataCiteClient
from organiser.domain.identifiers import DoiScheme
from organiser.domain.passes import ORDER
from organiser.engine.stop import StopFlag
from organiser.standin import StandinServer
from organiser.storage import records
from organiser.storage.database import open_database
from organiser.storage.models import Record

from conftest import MINIMAL, PASSWORD, PREFIX, USER


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _files_open(path: Path) -> int:
    """Count this process's descriptors on the SQLite database ``path`` (and -wal, -shm)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(path))
    return count


def test_threads_that_end_leave_no_sqlite_connection_open(
    tmp_path: Path, no_collector: None
) -> None:
    db = tmp_path / "o.db"
    open_database(f"sqlite:///{db}")
    opened: list[int] = []

    def work(start: threading.Barrier) -> None:
        assert Record.select().count() == 0  # on a connection of the thread's own
        start.wait()  # all open at once
        opened.append(_files_open(db))

    after = []
    for _ in range(3):
        start = threading.Barrier(4)
        workers = [threading.Thread(target=work, args=(start,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        after.append(_files_open(db))
    assert min(opened) > after[0]
    # SQLite keeps a closed connection's file for the next one to open (its locks are the
    # process's), so a first round may leave some; open connections would add up
    assert after[2] == after[0]
    assert Record.select().count() == 0  # this thread's connection is still open


def _mark(count: int, start: int) -> None:
    scheme = DoiScheme(PREFIX)
    new = [
        records.NewRecord(scheme.generate(), True, f"urn:test:{n}", json.dumps(MINIMAL), None)
        for n in range(start, start + count)
    ]
    records.insert_new(new, "test", datetime(2026, 1, 1))


@pytest.mark.slow
def test_a_run_leaves_no_database_or_http_connection_open(
    tmp_path: Path, standin: StandinServer, monkeypatch: pytest.MonkeyPatch, no_collector: None
) -> None:
    db = tmp_path / "o.db"
    config = tmp_path / "o.ini"
    config.write_text(
        f"[datacite]\nurl = {standin.url}\nusername = {USER}\nprefix = {PREFIX}\nworkers = 4\n"
        f"[database]\nurl = sqlite:///{db}\n[organiser]\nstate_dir = {tmp_path / 'state'}\n"
    )
    app = App(str(config), {"ORGANISER_DATACITE_PASSWORD": PASSWORD})
    app.open_db()
    clients: list[DataCiteClient] = []
    build = App.clients

    def every_client(self: App) -> dict[str, DataCiteClient]:
        built = build(self)
        clients.extend(built.values())  # one account here: one client per run
        return built

    monkeypatch.setattr(App, "clients", every_client)
    after = []
    for run in range(3):
        _mark(20, run * 20)
        outcome = run_action.run_passes(app, list(ORDER), "organiser -s", StopFlag())
        assert [(p.name, p.done) for p in outcome.result.passes if p.done] == [("reserve", 20)]
        after.append(_files_open(db))
    assert sum(s.method == "POST" for s in standin.datacite.seen) == 60
    # each reserve pass's 4 workers wrote progress from threads of their own: closed
    assert after[2] == after[0]
    # each run's keep-alive connections to DataCite are closed with it
    assert len(clients) == 3
    for session in (c.session for c in clients):
        assert all(not adapter.poolmanager.pools for adapter in session.adapters.values())


@pytest.mark.slow
def test_an_import_and_a_check_close_their_connections_to_datacite(
    tmp_path: Path, standin: StandinServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's scheduled check (and an import) leave no keep-alive connection open:
    every account's client is closed after it."""
    from organiser.actions import check as check_action
    from organiser.actions import imports

    standin.datacite.add(f"{PREFIX}/held-1", dict(MINIMAL), state="findable")
    config = tmp_path / "o.ini"
    config.write_text(
        f"[datacite]\nurl = {standin.url}\nusername = {USER}\nprefix = {PREFIX}\n"
        f"[database]\nurl = sqlite:///{tmp_path / 'o.db'}\n"
        f"[organiser]\nstate_dir = {tmp_path / 'state'}\n"
    )
    app = App(str(config), {"ORGANISER_DATACITE_PASSWORD": PASSWORD})
    clients: list[DataCiteClient] = []
    build = App.clients

    def every_client(self: App) -> dict[str, DataCiteClient]:
        built = build(self)
        clients.extend(built.values())
        return built

    monkeypatch.setattr(App, "clients", every_client)
    result = imports.import_account(app, imports.Request(), StopFlag())
    assert result.counts[imports.NEW] == 1
    checked = check_action.check(app, "organiser check")
    assert checked.complete and checked.drifted == 0
    assert len(clients) == 2
    for session in (c.session for c in clients):
        assert all(not adapter.poolmanager.pools for adapter in session.adapters.values())
