"""The guard between test and production: a database is bound to the DataCite endpoint and
account it first sent to; a run, push, import or check against another is refused (exit 2,
one line, nothing sent) until ``organiser config rebind``, which is recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from organiser.standin import DataCite, StandinServer
from organiser.storage.binding import Endpoint
from organiser.storage.database import open_database
from organiser.storage.models import Binding

from conftest import PASSWORD, PREFIX, USER, Env, write_records


@pytest.fixture
def second() -> Iterator[StandinServer]:
    """Another stand-in, with the same accounts, on another port: another endpoint."""
    server = StandinServer(
        DataCite({USER: (PASSWORD, [PREFIX]), "OTHER.CLIENT": ("x", ["10.9999"])})
    )
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def _bindings(env: Env) -> list[tuple[str, str, str, str]]:
    open_database(env.db_url)
    return [(b.url, b.username, b.reason, b.actor) for b in Binding.select().order_by(Binding.id)]


def _one_line(result: object) -> str:
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.slow
def test_a_run_against_another_endpoint_is_refused_until_rebind(
    env: Env, second: StandinServer
) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    assert _bindings(env) == []  # marking sends nothing, binds nothing
    env.ok("-s")
    assert _bindings(env) == [(env.server.url, USER, "first use", "organiser --reserve-all")]

    write_records(env.tmp / "more", 2, start=10)
    env.ok("reserve", str(env.tmp / "more"))
    env.write_config(datacite={"url": second.url})
    before = env.snapshot()
    refusal = (
        f"Error: [datacite] url and username: this database sends to {env.server.url} as "
        f"{USER}, not to {second.url} as {USER}; nothing was sent (if the change is intended: "
        "organiser config rebind)"
    )
    assert _one_line(env.run("-s")) == refusal
    waiting = next(r for r in env.records() if r.status == "to-be-reserved")
    assert _one_line(env.run("--reserve-doi", waiting.doi)) == refusal
    assert _one_line(env.run("import")) == refusal
    assert _one_line(env.run("check")) == refusal
    assert second.datacite.seen == []  # nothing reached the second endpoint
    assert env.snapshot() == before  # and nothing changed here
    assert len(_bindings(env)) == 1

    rebound = env.ok("config", "rebind")
    assert rebound.stdout == (
        f"rebound from {env.server.url} as {USER} to {second.url} as {USER}; recorded\n"
    )
    rows = _bindings(env)
    assert [row[:3] for row in rows] == [
        (env.server.url, USER, "first use"),
        (second.url, USER, "rebind"),
    ]
    assert rows[1][3].startswith("organiser config rebind (")
    shown = env.ok("config", "binding").stdout.splitlines()
    assert len(shown) == 2 and shown[1].startswith(f"{second.url} as {USER} (rebind by ")

    env.ok("-s")  # now allowed, and sent to the second endpoint only
    assert {s.method for s in second.datacite.seen} == {"POST"}
    assert len(second.datacite.seen) == 2
    assert {r.status for r in env.records()} == {"reserved"}


@pytest.mark.slow
def test_another_account_on_the_same_endpoint_is_refused(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    sent = len(env.server.datacite.seen)
    write_records(env.tmp / "more", 1, start=5)
    env.ok("reserve", str(env.tmp / "more"))
    other = {
        "ORGANISER_DATACITE_USERNAME": "OTHER.CLIENT",
        "ORGANISER_DATACITE_PASSWORD": "x",
    }
    line = _one_line(env.run("-s", env=other))
    assert f"sends to {env.server.url} as {USER}, not to {env.server.url} as OTHER.CLIENT" in line
    assert len(env.server.datacite.seen) == sent
    # DataCite's client ids are case-insensitive: the guard lets the same account in lower
    # case through (the stand-in, stricter than DataCite, then refuses it: exit 75)
    lower = env.run("-s", env={"ORGANISER_DATACITE_USERNAME": USER.lower()})
    assert lower.returncode == 75 and "401" in lower.stderr
    assert len(env.server.datacite.seen) == sent + 1


@pytest.mark.slow
def test_check_and_a_dry_import_do_not_bind_an_import_does(env: Env) -> None:
    env.server.datacite.add(f"{PREFIX}/held-1", {"titles": [{"title": "Held"}]}, state="findable")
    env.ok("import", "--dry-run")
    assert list(env.tmp.glob("organiser.db*")) == []  # a dry run writes no database at all
    env.ok("token", "add", "t", "--role", "reader")  # a database, not bound yet
    env.ok("check")
    assert _bindings(env) == []
    env.ok("import")
    assert _bindings(env) == [(env.server.url, USER, "first use", "organiser import")]


@pytest.mark.slow
def test_rebind_of_an_unbound_database_binds_it_and_twice_changes_nothing(env: Env) -> None:
    assert env.ok("config", "rebind").stdout == (
        f"bound to {env.server.url} as {USER} (the database was not bound yet)\n"
    )
    assert env.ok("config", "rebind").stdout == (
        f"already bound to {env.server.url} as {USER}; nothing changed\n"
    )
    assert [row[2] for row in _bindings(env)] == ["first use"]


@pytest.mark.slow
def test_test_prefix_with_the_production_url_is_refused_when_read(env: Env) -> None:
    env.write_config(datacite={"url": "https://api.datacite.org"})
    for args in (["-s"], ["config", "check"], ["status"]):
        line = _one_line(env.run(*args))
        assert line == (
            f"Error: [datacite] prefix ({env.config}) and url ({env.config}): 10.5072 is "
            "DataCite's test prefix but https://api.datacite.org is production (test: "
            "https://api.test.datacite.org)"
        )
    assert not (env.tmp / "organiser.db").exists()
    env.write_config(datacite={"url": "https://api.test.datacite.org"})
    assert env.run("config", "check").returncode == 0


def test_endpoints_compare_without_case_credentials_or_a_trailing_slash() -> None:
    bound = Endpoint.of("https://api.test.datacite.org", "DEMO.X")
    assert bound.same(Endpoint.of("HTTPS://API.Test.DataCite.org/", "demo.x"))
    assert bound.same(Endpoint.of("https://user:pw@api.test.datacite.org", "DEMO.X"))
    assert not bound.same(Endpoint.of("https://api.datacite.org", "DEMO.X"))
    assert not bound.same(Endpoint.of("https://api.test.datacite.org:8443", "DEMO.X"))
    assert not bound.same(Endpoint.of("https://api.test.datacite.org", "DEMO.Y"))
    assert "pw" not in Endpoint.of("https://user:pw@h.example:x", "U").url


def test_the_daemon_does_not_start_against_another_endpoint(
    env: Env, second: StandinServer
) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    env.write_config(datacite={"url": second.url})
    line = _one_line(env.run("daemon"))
    assert line.startswith(
        f"Error: [datacite] url and username: this database sends to {env.server.url}"
    )
    assert second.datacite.seen == []
