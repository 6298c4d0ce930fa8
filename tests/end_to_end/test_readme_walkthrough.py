"""What a new operator met following the README on a fresh clone (quick start, the commands
after it): each test is one place where the program said something other than the README
promises — a usage error over several lines, a "no database" line naming the wrong origin of
``[database] url``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Env, clean_environment, run_in_process, write_records


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no configuration file anywhere but the ones a test names."""
    environ = clean_environment()
    environ.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"), **extra)
    return environ


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["token", "add", "web"],
            "Error: Missing option '--role'. Choose from: reader, submitter, operator "
            "(see 'organiser token add --help')\n",
        ),
        (
            ["install"],
            "Error: Missing argument '{config|cron|systemd}'. Choose from: config, cron, "
            "systemd (see 'organiser install --help')\n",
        ),
    ],
)
def test_a_usage_error_that_lists_choices_is_one_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    # README: "User errors are one line per problem ... a missing or bad option too"; click
    # lists the choices of a missing option one per line.
    config = tmp_path / "organiser.ini"
    config.write_text(f"[database]\nurl = sqlite:///{tmp_path / 'o.db'}\n")
    result = run_in_process(args, _environ(tmp_path, ORGANISER_CONFIG=str(config)))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", expected)
    assert not (tmp_path / "o.db").exists()


def test_no_database_line_says_the_file_does_not_set_the_url(tmp_path: Path) -> None:
    # A file without [database] url: the default URL was used, not one from the file.
    config = tmp_path / "organiser.ini"
    config.write_text("[datacite]\nusername = DEMO.X\nprefix = 10.5072\n")
    result = run_in_process(["status"], _environ(tmp_path, ORGANISER_CONFIG=str(config)))
    assert result.returncode == 2
    assert result.stderr == (
        "Error: no database at sqlite:///~/.local/share/organiser/organiser.db yet ([database] "
        f"url from defaults: {config} does not set it): 'organiser reserve' or 'organiser "
        "import' creates it\n"
    )
    assert not (tmp_path / "home" / ".local").exists()


def test_no_database_line_names_the_variable_that_set_the_url(tmp_path: Path) -> None:
    config = tmp_path / "organiser.ini"
    config.write_text(f"[database]\nurl = sqlite:///{tmp_path / 'file.db'}\n")
    url = f"sqlite:///{tmp_path / 'data' / 'env.db'}"
    environ = _environ(tmp_path, ORGANISER_CONFIG=str(config), ORGANISER_DATABASE_URL=url)
    result = run_in_process(["list"], environ)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: no database at {url} yet ([database] url from ORGANISER_DATABASE_URL): "
        "'organiser reserve' or 'organiser import' creates it\n"
    )
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "file.db").exists()


def test_postgresql_without_its_driver_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README: "pip install '/path/to/organiser'   # add [postgres] for PostgreSQL"; an
    # installation without that extra pointed a [database] url at PostgreSQL.
    import peewee

    monkeypatch.setattr(peewee, "psycopg2", None)
    config = tmp_path / "organiser.ini"
    config.write_text("[database]\nurl = postgresql://organiser:s3cret@127.0.0.1:1/organiser\n")
    result = run_in_process(["status"], _environ(tmp_path, ORGANISER_CONFIG=str(config)))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: [database] url: cannot open postgresql://organiser:***@127.0.0.1:1/organiser: "
        "psycopg2 postgres driver not found. Install organiser with PostgreSQL support: pip "
        "install 'organiser[postgres]'\n"
    )


@pytest.mark.parametrize(
    ("args", "option", "where"),
    [
        (["list", "--status"], "--status", "organiser list"),
        (["token", "add", "web", "--role"], "--role", "organiser token add"),
        (["-q", "status", "--prometheus"], "--prometheus", "organiser status"),
        (["--config"], "--config", "organiser"),
    ],
)
def test_an_option_missing_its_value_points_at_its_own_commands_help(
    tmp_path: Path, args: list[str], option: str, where: str
) -> None:
    # click raises this error without the subcommand's context; the line pointed at
    # 'organiser --help', which does not list the option.
    config = tmp_path / "organiser.ini"
    config.write_text(f"[database]\nurl = sqlite:///{tmp_path / 'o.db'}\n")
    result = run_in_process(args, _environ(tmp_path, ORGANISER_CONFIG=str(config)))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: Option '{option}' requires an argument. (see '{where} --help')\n"
    )
    assert not (tmp_path / "o.db").exists()


def test_a_deleted_record_is_found_by_its_identifier(env: Env) -> None:
    # README: "organiser show ID prints one record with its history", ID a DOI, identifier
    # or local id; the demo's deleted record was found by DOI and id but not by identifier
    # ("no record with this DOI, identifier or id"), and marking it said the same.
    [identifier] = write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    env.ok("delete", identifier)
    env.ok("-d")
    [record] = env.records()
    assert record.status == "deleted"
    before = env.snapshot()
    shown = env.ok("show", identifier.upper(), "--json")
    assert json.loads(shown.stdout)["doi"] == record.doi
    assert json.loads(shown.stdout)["status"] == "deleted"
    refused = env.run("register", identifier)
    assert (refused.returncode, refused.stdout, refused.stderr) == (
        2,
        "",
        f"Error: {record.doi} is deleted and cannot be registered\n",
    )
    assert env.snapshot() == before
