"""The built wheel carries the systemd units, the cron file and the example configuration
(for ``organiser install``), and shell completion scripts and man pages generated at build
time, installed as data files where bash, zsh, fish and man look; an installed wheel's
``organiser install`` prints the files it carries."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from organiser import __version__
from organiser.commands.cli import COMMANDS

pytestmark = pytest.mark.slow  # pip builds the wheel in a process (a few seconds)

REPO = Path(__file__).resolve().parents[2]
DATA = f"organiser-{__version__}.data/data/"
SHIPPED = {
    **{
        f"organiser/share/systemd/{p.name}": p
        for p in (REPO / "systemd").iterdir()
        if p.suffix in (".service", ".timer")
    },
    "organiser/share/cron/organiser.cron": REPO / "jobs" / "organiser.cron",
    "organiser/share/config/organiser.example.ini": REPO / "config" / "organiser.example.ini",
}
#: Where each shell looks for its completion script, and a line only that shell's has.
COMPLETIONS = {
    "share/bash-completion/completions/organiser": "complete -o nosort -F _organiser_completion",
    "share/zsh/site-functions/_organiser": "#compdef organiser",
    "share/fish/vendor_completions.d/organiser.fish": "_ORGANISER_COMPLETE=fish_complete",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the wheel from this source tree with the test venv's setuptools and click-man
    (no build isolation: nothing is fetched); give its path."""
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--disable-pip-version-check", "--no-index", "-w", str(out), str(REPO)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("organiser-*.whl")
    yield found


def test_the_wheel_carries_the_units_cron_file_and_example_configuration(wheel: Path) -> None:
    assert len([n for n in SHIPPED if "/systemd/" in n]) == 4
    with zipfile.ZipFile(wheel) as z:
        for name, source in SHIPPED.items():
            assert z.read(name) == source.read_bytes(), name


def test_the_completion_scripts_are_installed_where_the_shells_look(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for name, marker in COMPLETIONS.items():
            text = z.read(DATA + name).decode()
            assert marker in text, name
            assert "_ORGANISER_COMPLETE" in text


def test_the_man_pages_name_every_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        page = z.read(DATA + "share/man/man1/organiser.1").decode()
        assert page.startswith('.TH "ORGANISER" "1" ')
        assert "organiser \\- Keep a repository's DOIs in step with DataCite\n" in page
        for command in COMMANDS:
            assert f"\\fB{command}\\fP" in page, command
            assert DATA + f"share/man/man1/organiser-{command}.1" in names, command
        assert DATA + "share/man/man1/organiser-token-add.1" in names
        install = z.read(DATA + "share/man/man1/organiser-install.1").decode()
        assert "\\-\\-prefix" in install and "\\-\\-force" in install


def test_an_installed_wheel_prints_the_units_it_carries(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "install", "--quiet", "--no-deps", "--no-index"),
            *("--disable-pip-version-check", "--target", str(target), str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / "organiser" / "share" / "systemd" / "organiser-api.service").is_file()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_")}
    environ["PYTHONPATH"] = str(target)  # the installed copy, not this source tree
    shown = subprocess.run(
        [
            *(sys.executable, "-m", "organiser", "install", "systemd", "organiser-api.service"),
            *("--bin", "/opt/organiser/bin"),
        ],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (REPO / "systemd" / "organiser-api.service").read_text()
    where = subprocess.run(
        [sys.executable, "-c", "import organiser; print(organiser.__file__)"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.stdout.startswith(str(target))
