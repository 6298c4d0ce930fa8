"""Start-up: ``organiser --help`` lists every subcommand without importing any of them, the
table it lists them from agrees with the commands themselves, and a command imports what it
needs only (the time this saves is measured by scripts/bench_startup.py, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from apscheduler.triggers.cron import CronTrigger

from organiser import config_parsers
from organiser.commands.cli import COMMANDS, cli
from organiser.commands.lazy import Lazy, LazyGroup
from organiser.config import SCHEMA
from organiser.storage.database import open_database

#: What neither ``--help`` nor ``status`` (with the default schedule) has any use for.
HEAVY = ("requests", "urllib3", "fastapi", "uvicorn", "starlette", "lxml", "openpyxl")
HEAVY += ("apscheduler",)
NOT_FOR_HELP = (*HEAVY, "structlog", "peewee", "playhouse")
ORGANISER_NOT_FOR_STATUS = ("organiser.intake", "organiser.engine", "organiser.datacite")
ORGANISER_NOT_FOR_STATUS += ("organiser.api", "organiser.notify.mailer", "organiser.actions.run")


def _fresh(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[dict, str, str]:
    """Run ``code`` in a fresh interpreter with ``sys.argv[1:] = args``; it must put its
    answer as JSON on the last line of stderr. Give (answer, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "COLUMNS": "100"},
        timeout=120,
        check=False,
    )
    lines = done.stderr.splitlines()
    assert lines, f"no answer; exit {done.returncode}, stdout {done.stdout!r}"
    return json.loads(lines[-1]), done.stdout, "\n".join(lines[:-1])


#: Run ``organiser ARGS...`` through the console script's ``main()`` and report its exit code
#: and every module it imported.
RUN_MAIN = """
import json, sys
from organiser.commands.main import main
sys.argv = ["organiser", *sys.argv[1:]]
try:
    main()
    code = None
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _top(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Give the modules in ``modules`` that are one of ``names`` or inside one of them."""
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_help_imports_no_command_and_none_of_their_libraries() -> None:
    answer, out, err = _fresh(RUN_MAIN, "--help")
    assert answer["code"] == 0, err
    for name in COMMANDS:
        assert f"\n  {name} " in out
    modules = answer["modules"]
    assert _top(modules, NOT_FOR_HELP) == []
    loaded = {m for m in modules if m.startswith("organiser.")}
    assert loaded <= {
        "organiser.commands",
        "organiser.commands.cli",
        "organiser.commands.flags",
        "organiser.commands.lazy",
        "organiser.commands.main",
        "organiser.domain",
        "organiser.domain.passes",
        "organiser.domain.states",
        "organiser.errors",
        "organiser.lock",
        "organiser.logs",
    }, sorted(loaded)


def test_status_imports_no_http_intake_engine_or_web_server(tmp_path: Path) -> None:
    config = tmp_path / "organiser.ini"
    config.write_text(
        f"[database]\nurl = sqlite:///{tmp_path / 'o.db'}\n\n"
        f"[organiser]\nstate_dir = {tmp_path / 'state'}\n"
    )
    open_database(f"sqlite:///{tmp_path / 'o.db'}").close()  # status creates none
    answer, out, err = _fresh(RUN_MAIN, "status", env={"ORGANISER_CONFIG": str(config)})
    assert answer["code"] == 0, err
    assert f"database: sqlite:///{tmp_path / 'o.db'}" in out
    assert "last run: none yet" in out
    modules = answer["modules"]
    assert "organiser.commands.status" in modules and "peewee" in modules
    assert _top(modules, HEAVY) == []
    assert _top(modules, ORGANISER_NOT_FOR_STATUS) == []
    other_commands = [f"organiser.commands.{m}" for m in ("check", "daemon", "marks", "serve")]
    assert _top(modules, tuple(other_commands)) == []


#: Print ``organiser --help`` lazily, then again with every command loaded.
BOTH_HELPS = """
import json, sys
from organiser.commands.cli import cli
def help_text():
    return cli.get_help(cli.make_context("organiser", [], max_content_width=100))
lazy = help_text()
modules = sorted(m for m in sys.modules if m.startswith("organiser.commands."))
for name in cli.list_commands(None):
    cli.get_command(None, name)
print(json.dumps({"lazy": lazy, "loaded": help_text(), "modules": modules}), file=sys.stderr)
"""


def test_help_lists_the_same_lines_as_the_loaded_commands() -> None:
    answer, _, err = _fresh(BOTH_HELPS)
    assert answer["modules"] == [
        "organiser.commands.cli",
        "organiser.commands.flags",
        "organiser.commands.lazy",
    ], err
    assert answer["lazy"] == answer["loaded"]
    assert "\n  status    How the queue is doing: records per status" in answer["lazy"]


def test_the_table_holds_every_command_and_its_docstrings_first_sentence() -> None:
    for name, entry in COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name, entry.target
        stand_in = click.Command(name, help=entry.help)
        for limit in (*range(20, 200, 7), 10_000):  # what any terminal width gives
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), (
                f"{name}: the help line in organiser/commands/cli.py COMMANDS is not the "
                f"first sentence of {entry.target}'s docstring"
            )
    # every module imported: no command registered itself that the table does not list
    assert sorted(cli.commands) == sorted(COMMANDS)


def test_shell_completion_offers_every_command() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("organiser"))],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "_ORGANISER_COMPLETE": "bash_complete",
            "COMP_WORDS": "organiser ",
            "COMP_CWORD": "1",
        },
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    offered = {line.split(",", 1)[1] for line in done.stdout.splitlines()}
    assert offered == set(COMMANDS)


def test_a_table_entry_that_is_not_a_command_is_refused() -> None:
    group = LazyGroup(
        "g",
        lazy={
            "bad": Lazy("organiser.errors:EXIT_OK", "Not a command."),
            "gone": Lazy("organiser.commands.no_such_module:x", "Missing."),
        },
    )
    ctx = click.Context(group)
    assert group.list_commands(ctx) == ["bad", "gone"]
    assert group.get_command(ctx, "nothing") is None
    with pytest.raises(TypeError, match=r"organiser\.errors:EXIT_OK is not a click command"):
        group.get_command(ctx, "bad")
    with pytest.raises(ModuleNotFoundError):
        group.get_command(ctx, "gone")


def test_the_crontabs_taken_without_apscheduler_are_valid_and_include_the_default() -> None:
    assert SCHEMA["scheduler"]["cron"].default in config_parsers.VALID_CRONTABS
    for expression in config_parsers.VALID_CRONTABS:
        CronTrigger.from_crontab(expression, timezone="UTC")  # raises ValueError if not
        assert config_parsers.cron(f" {expression} ") == expression
    with pytest.raises(ValueError, match="is not a crontab expression"):
        config_parsers.cron("*/15 * * *")  # a field short: still checked by APScheduler
