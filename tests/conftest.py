"""Shared test fixtures: a DataCite stand-in on 127.0.0.1, a per-test configuration and
database, and a runner for the installed ``organiser`` command."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from organiser.standin import DataCite, Faults, StandinServer
from organiser.storage.database import open_database
from organiser.storage.models import MODELS, History, Record

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
    server.start()
    yield server
    server.shutdown()
    server.server_close()


#: What systemd or an operator's shell may have set that would change how organiser behaves.
FOREIGN = ("JOURNAL_STREAM", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")


def clean_environment() -> dict[str, str]:
    """Give this process's environment without organiser settings or systemd's variables."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_") and k not in FOREIGN
    }


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

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed ``organiser`` with this test's config; give the finished process."""
        environ = clean_environment()
        environ.update(ORGANISER_CONFIG=str(self.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        environ.update(env or {})
        return subprocess.run(
            [str(ORGANISER), *args],
            capture_output=True,
            text=True,
            env=environ,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the installed ``organiser`` with this test's config; give the process."""
        environ = clean_environment()
        environ.update(ORGANISER_CONFIG=str(self.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        environ.update(env or {})
        return subprocess.Popen(
            [str(ORGANISER), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
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
