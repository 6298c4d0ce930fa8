"""``organiser install systemd|cron|config``: prints the shipped files, writes them into a
folder with their modes, runs the organiser that is installing them, and never overwrites a
file changed there without --force (one line, exit 2, nothing written)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from conftest import Env

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted(p.name for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".timer"))
#: The organiser these tests run as (in this process: the venv's console script).
BIN = Path(sys.executable).parent


def test_print_gives_the_shipped_unit_as_it_is(env: Env) -> None:
    result = env.run(
        "install", "systemd", "organiser.service", "--print", "--bin", "/opt/organiser/bin"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "systemd" / "organiser.service").read_text()


def test_printed_units_and_cron_file_run_this_organiser(env: Env) -> None:
    units = env.ok("install", "systemd").stdout
    assert [line[4:-4] for line in units.splitlines() if line.startswith("==> ")] == UNITS
    assert f"ExecStart={BIN}/organiser daemon" in units.splitlines()
    assert "/opt/organiser/bin" not in units
    cron = env.ok("install", "cron").stdout
    assert f"PATH={BIN}:/usr/local/bin:/usr/bin:/bin" in cron.splitlines()
    shipped = (REPO / "jobs" / "organiser.cron").read_text()
    assert cron == shipped.replace("/opt/organiser/bin:", f"{BIN}:")


def test_writes_each_file_with_its_name_and_mode(env: Env) -> None:
    target = env.tmp / "etc"
    result = env.run("install", "systemd", "--prefix", str(target / "systemd"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (target / "systemd").iterdir()) == UNITS
    assert result.stdout.splitlines() == [f"wrote {target / 'systemd' / u}" for u in UNITS]
    unit = target / "systemd" / "organiser-run.service"
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert f"ExecStart={BIN}/organiser --update-all" in unit.read_text()

    env.ok("install", "cron", "--prefix", str(target / "cron.d"))
    assert [p.name for p in (target / "cron.d").iterdir()] == ["organiser"]  # cron skips dots

    env.ok("install", "config", "--prefix", str(target / "organiser"))
    ini = target / "organiser" / "organiser.ini"
    assert ini.read_text() == (REPO / "config" / "organiser.example.ini").read_text()
    assert stat.S_IMODE(ini.stat().st_mode) == 0o640


def test_again_leaves_identical_files_and_says_so(env: Env) -> None:
    target = env.tmp / "units"
    env.ok("install", "systemd", "--prefix", str(target))
    again = env.ok("install", "systemd", "--prefix", str(target))
    assert again.stdout.splitlines() == [f"unchanged {target / u}" for u in UNITS]


def test_refuses_to_overwrite_a_changed_file_and_writes_nothing(env: Env) -> None:
    target = env.tmp / "units"
    target.mkdir()
    changed = target / "organiser.service"
    changed.write_text("[Service]\nExecStart=/usr/local/bin/my-organiser daemon\n")
    result = env.run("install", "systemd", "--prefix", str(target))
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {changed}: exists and differs from the shipped organiser.service; "
        "--force replaces it\n"
    )
    assert changed.read_text() == "[Service]\nExecStart=/usr/local/bin/my-organiser daemon\n"
    assert [p.name for p in target.iterdir()] == ["organiser.service"]  # no other unit either

    forced = env.run("install", "systemd", "--prefix", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"replaced {changed}" in forced.stdout.splitlines()
    assert f"ExecStart={BIN}/organiser daemon" in changed.read_text().splitlines()


def test_print_with_prefix_shows_the_targets_and_writes_nothing(env: Env) -> None:
    target = env.tmp / "etc"
    result = env.ok("install", "config", "--prefix", str(target), "--print")
    assert result.stdout.splitlines()[0] == f"==> {target / 'organiser.ini'} <=="
    assert not target.exists()


def test_an_unknown_file_or_kind_is_one_line_and_exit_2(env: Env) -> None:
    result = env.run("install", "systemd", "organiser.socket", "--prefix", str(env.tmp / "u"))
    assert result.returncode == 2
    assert result.stderr.startswith("Error: FILE organiser.socket: not a systemd file (one of: ")
    assert len(result.stderr.splitlines()) == 1
    assert not (env.tmp / "u").exists()
    kind = env.run("install", "launchd")
    assert kind.returncode == 2 and "launchd" in kind.stderr and "Traceback" not in kind.stderr


def test_an_unwritable_folder_is_one_line_and_exit_2(env: Env) -> None:
    blocker = env.tmp / "file"
    blocker.write_text("")
    result = env.run("install", "cron", "--prefix", str(blocker / "cron.d"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {blocker / 'cron.d' / 'organiser'}: cannot write: ")
    assert len(result.stderr.splitlines()) == 1


def test_the_completion_the_shipped_scripts_ask_for(env: Env) -> None:
    def complete(words: str) -> list[str]:
        environ = {"_ORGANISER_COMPLETE": "bash_complete", "COMP_WORDS": words}
        environ["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        result = env.run(env=environ)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert complete("organiser ins") == ["plain,install"]
    assert complete("organiser token l") == ["plain,list"]
    assert complete("organiser install sys") == ["plain,systemd"]
    assert "plain,--prefix" in complete("organiser install systemd --")
