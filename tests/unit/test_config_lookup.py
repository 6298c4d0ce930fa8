"""Where the configuration is looked for (--config, ORGANISER_CONFIG, $XDG_CONFIG_HOME, /etc;
the first found is read), unknown ORGANISER_ variables refused, and a command that only reads
saying there is no database instead of creating one."""

from __future__ import annotations

from pathlib import Path

import pytest

from organiser.config import ConfigError, candidates, load

from conftest import clean_environment, run_in_process


def _ini(path: Path, batch_size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[organiser]\nbatch_size = {batch_size}\n")
    return path


def test_each_place_wins_over_the_next(tmp_path: Path) -> None:
    given = _ini(tmp_path / "given.ini", 1)
    named = _ini(tmp_path / "named.ini", 2)
    user = _ini(tmp_path / "xdg" / "organiser" / "organiser.ini", 3)
    system = _ini(tmp_path / "etc" / "organiser.ini", 4)
    environ = {"ORGANISER_CONFIG": str(named), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}

    def read(path: Path | None, environ: dict[str, str]) -> tuple[int, tuple[str, ...]]:
        config = load(path, environ, system)
        return config["organiser"]["batch_size"], config.files

    assert read(given, environ) == (1, (str(given),))
    assert read(None, environ) == (2, (str(named),))
    del environ["ORGANISER_CONFIG"]
    assert read(None, environ) == (3, (str(user),))
    user.unlink()
    assert read(None, environ) == (4, (str(system),))
    system.unlink()
    config = load(None, environ, system)
    assert (config["organiser"]["batch_size"], config.files, config.source) == (100, (), "defaults")
    assert config.looked_in == (str(user), str(system))


def test_without_xdg_config_home_the_user_file_is_under_home_config(tmp_path: Path) -> None:
    expected = tmp_path / ".config" / "organiser" / "organiser.ini"
    system = tmp_path / "etc.ini"
    for xdg in ({}, {"XDG_CONFIG_HOME": ""}, {"XDG_CONFIG_HOME": "relative/dir"}):
        assert candidates({"HOME": str(tmp_path), **xdg}, system) == (expected, system)
    _ini(expected, 9)
    assert load(None, {"HOME": str(tmp_path)}, system)["organiser"]["batch_size"] == 9


def test_a_named_file_that_is_missing_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    _ini(tmp_path / "xdg" / "organiser" / "organiser.ini", 3)
    environ = {"ORGANISER_CONFIG": str(tmp_path / "nope.ini"), "XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"nope\.ini: file not found"):
        load(None, environ, tmp_path / "etc.ini")


def test_credentials_read_are_named_among_the_files(tmp_path: Path) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "datacite_password").write_text("s3cret\n")
    config = load(None, {"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")}, tmp_path / "etc.ini")
    assert config.files == (str(tmp_path / "creds" / "datacite_password"),)
    assert config["datacite"]["password"] == "s3cret"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "ORGANISER_DATACITE_WORKRS",
            "ORGANISER_DATACITE_WORKRS: unknown variable: it sets no configuration key (did "
            "you mean ORGANISER_DATACITE_WORKERS?)",
        ),
        (
            "ORGANISER_NOTHING_LIKE_IT",
            "ORGANISER_NOTHING_LIKE_IT: unknown variable: it sets no configuration key",
        ),
    ],
)
def test_an_unknown_organiser_variable_is_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(None, {name: "3"}, tmp_path / "etc.ini")
    assert str(refused.value) == message


def test_organisers_own_variables_are_allowed(tmp_path: Path) -> None:
    config = tmp_path / "o.ini"
    _ini(config, 5)
    environ = {
        "ORGANISER_CONFIG": str(config),
        "ORGANISER_TEST_POSTGRES_URL": "postgresql://x@127.0.0.1/t",
        "ORGANISER_TEST_CRON_SECOND": "3",
        "ORGANISER_DATACITE_WORKERS": "3",
        "_ORGANISER_COMPLETE": "bash_complete",  # click's shell completion
    }
    loaded = load(None, environ, tmp_path / "etc.ini")
    assert (loaded["organiser"]["batch_size"], loaded["datacite"]["workers"]) == (5, 3)


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no configuration file but one in $XDG_CONFIG_HOME (if written)."""
    environ = clean_environment()
    environ.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"), **extra)
    return environ


def _user_file(tmp_path: Path) -> Path:
    path = tmp_path / "xdg" / "organiser" / "organiser.ini"
    path.parent.mkdir(parents=True)
    path.write_text(
        f"[database]\nurl = sqlite:///{tmp_path / 'data' / 'o.db'}\n"
        f"[organiser]\nstate_dir = {tmp_path / 'state'}\n"
        "[datacite]\nusername = DEMO.X\npassword = pw\nprefix = 10.5072\n"
    )
    return path


def test_config_check_names_the_file_it_read(tmp_path: Path) -> None:
    path = _user_file(tmp_path)
    result = run_in_process(["config", "check"], _environ(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        f"# configuration OK (from {path})",
        f"# read: {path}",
    ]


def test_config_check_says_where_it_looked_when_it_read_no_file(tmp_path: Path) -> None:
    result = run_in_process(["config", "check"], _environ(tmp_path))
    assert result.returncode == 2  # no account: required keys missing
    assert "Error: no configuration file: [datacite] username: missing" in result.stderr


def test_an_unknown_variable_stops_a_command_with_one_line(tmp_path: Path) -> None:
    _user_file(tmp_path)
    result = run_in_process(["status"], _environ(tmp_path, ORGANISER_DATACITE_WORKRS="3"))
    assert result.returncode == 2
    assert result.stderr == (
        "Error: ORGANISER_DATACITE_WORKRS: unknown variable: it sets no configuration key (did "
        "you mean ORGANISER_DATACITE_WORKERS?)\n"
    )
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "args", [["status"], ["list"], ["show", "1"], ["report"], ["-l"], ["-s", "--dry-run"]]
)
def test_a_command_that_only_reads_creates_no_database(tmp_path: Path, args: list[str]) -> None:
    path = _user_file(tmp_path)
    result = run_in_process(args, _environ(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: no database at sqlite:///{tmp_path / 'data' / 'o.db'} yet ([database] url "
        f"from {path}): 'organiser reserve' or 'organiser import' creates it\n"
    )
    assert not (tmp_path / "data").exists()


def test_without_any_configuration_status_names_the_default_database(tmp_path: Path) -> None:
    result = run_in_process(["status"], _environ(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        "Error: no database at sqlite:///~/.local/share/organiser/organiser.db yet ([database] "
        "url from defaults: no configuration file found): 'organiser reserve' or 'organiser "
        "import' creates it\n"
    )
    assert not (tmp_path / "home" / ".local").exists()


def test_a_command_that_creates_still_creates(tmp_path: Path) -> None:
    _user_file(tmp_path)
    result = run_in_process(["token", "add", "t", "--role", "reader"], _environ(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "o.db").exists()
    assert run_in_process(["status"], _environ(tmp_path)).returncode == 0
