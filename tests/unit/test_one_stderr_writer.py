"""One format per stream: every line a command writes to stderr goes through
:func:`organiser.logs.say`, which gives it its sd-daemon priority when stderr is the journal.
A static check over organiser/commands finds any other way to stderr (``err=``, ``sys.stderr``,
``click.get_text_stream("stderr")``, ``os.write(2, …)``); it is shown to catch each of them."""

from __future__ import annotations

import ast
import io
import os
from pathlib import Path

import pytest

from organiser import logs
from organiser.commands import main as main_module

COMMANDS = Path(main_module.__file__).parent


def _stderr_writes(source: str) -> list[str]:
    """Give ``line: what`` for each place in ``source`` that reaches stderr other than
    through ``logs.say``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        what = None
        if isinstance(node, ast.keyword) and node.arg == "err":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                what = f"err={ast.unparse(node.value)}"
        elif isinstance(node, ast.Attribute) and node.attr in ("stderr", "__stderr__"):
            what = ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            if {a.name for a in node.names} & {"stderr", "__stderr__"}:
                what = "from sys import stderr"
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            first = node.args[0] if node.args else None
            value = first.value if isinstance(first, ast.Constant) else None
            if name.endswith("get_text_stream") and value == "stderr":
                what = "get_text_stream('stderr')"
            elif name == "os.write" and value == 2:
                what = "os.write(2, …)"
        if what is not None:
            found.append(f"{getattr(node, 'lineno', '?')}: {what}")
    return found


def test_no_command_writes_to_stderr_but_through_say() -> None:
    modules = sorted(COMMANDS.glob("*.py"))
    assert len(modules) > 20 and COMMANDS / "check.py" in modules
    offenders = {
        path.name: found
        for path in modules
        if (found := _stderr_writes(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ('click.echo("warning: x", err=True)', "err=True"),
        ('click.echo("summary", err=as_json)', "err=as_json"),
        ('sys.stderr.write("x")', "sys.stderr"),
        ('print("x", file=sys.__stderr__)', "sys.__stderr__"),
        ("from sys import stderr", "from sys import stderr"),
        ('click.get_text_stream("stderr").write("x")', "get_text_stream('stderr')"),
        ('os.write(2, b"x")', "os.write(2, …)"),
    ],
)
def test_the_check_finds_each_way_to_stderr(line: str, what: str) -> None:
    assert _stderr_writes(f"import sys\n{line}\n") == [f"2: {what}"]


def test_the_check_lets_stdout_and_say_through() -> None:
    source = 'click.echo("x")\nclick.echo("x", err=False)\nlogs.say("warning: x", "warning")\n'
    assert _stderr_writes(source) == []


@pytest.mark.parametrize(
    ("level", "mark"), [("error", b"<3>"), ("warning", b"<4>"), ("info", b"<6>")]
)
def test_say_gives_each_level_its_priority_in_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str, mark: bytes
) -> None:
    path = tmp_path / "journal"
    with path.open("w", encoding="utf-8") as err:
        found = os.fstat(err.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{found.st_dev}:{found.st_ino}")
        logs.say(f"{level}: one\nand two", level, err)
    assert path.read_bytes() == mark + f"{level}: one\n".encode() + mark + b"and two\n"


def test_say_writes_plain_lines_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    err = io.StringIO()
    logs.say("warning: x", "warning", err)
    assert err.getvalue() == "warning: x\n"
