"""``organiser install systemd|cron|config``: the systemd units, the cron file and the example
configuration that the package carries (``organiser/share/``, see :mod:`organiser.shipped`),
printed, or written into a folder without overwriting a file that was changed there."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

import organiser
from organiser import logs
from organiser.commands.cli import cli
from organiser.errors import UserError
from organiser.shipped import KINDS, SHARE, Kind

#: The folder of the organiser executable that the shipped units and cron file name.
SHIPPED_BIN = "/opt/organiser/bin"
#: The kinds whose files name the organiser executable's folder.
RUNS_ORGANISER = ("systemd", "cron")


class InstallError(UserError):
    """A file cannot be installed (changed there, not writable, not shipped); exit 2."""


@dataclass(frozen=True)
class Shipped:
    """One file to install: its shipped name, where it goes and what it holds."""

    name: str
    target: Path
    text: str
    mode: int


def shipped_folder(kind: Kind) -> Path:
    """Give the folder holding ``kind``'s files: the package's ``organiser/share/<kind>`` (an
    installed wheel), else the source tree's folder (an editable install). Raises
    :class:`InstallError` if there is neither."""
    package = Path(organiser.__file__).resolve().parent
    for folder in (package / SHARE / kind.name, package.parent / kind.source):
        if any(any(folder.glob(pattern)) for pattern in kind.patterns):
            return folder
    raise InstallError(
        f"{kind.name}: the package carries no {kind.name} files "
        f"(looked in {package / SHARE / kind.name} and {package.parent / kind.source})"
    )


def this_bin() -> Path | None:
    """Give the folder of the organiser executable running now: the console script this
    process was started as, else the one beside the Python interpreter (a venv), else the
    one on PATH; None if none is found."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == "organiser" and started.is_file():
        return started.absolute().parent
    beside = Path(sys.executable).with_name("organiser")
    if beside.is_file():
        return beside.parent
    found = shutil.which("organiser")
    return Path(found).absolute().parent if found else None


def files(kind: Kind, names: tuple[str, ...], prefix: Path, bin_dir: Path | None) -> list[Shipped]:
    """Give ``kind``'s files (all, or those called ``names``), bound for ``prefix``, with
    the shipped executable folder replaced by ``bin_dir``. Raises :class:`InstallError`
    for a name that is not shipped."""
    folder = shipped_folder(kind)
    found = sorted({p.name for pattern in kind.patterns for p in folder.glob(pattern)})
    unknown = [n for n in names if n not in found]
    if unknown:
        raise InstallError(
            f"FILE {', '.join(unknown)}: not a {kind.name} file (one of: {', '.join(found)})"
        )
    chosen = [n for n in found if n in names] if names else found
    result = []
    for name in chosen:
        text = (folder / name).read_text(encoding="utf-8")
        if kind.name in RUNS_ORGANISER and bin_dir is not None:
            text = text.replace(SHIPPED_BIN + "/", f"{bin_dir}/").replace(
                SHIPPED_BIN + ":", f"{bin_dir}:"
            )
        result.append(Shipped(name, prefix / kind.target_name(name), text, kind.mode))
    return result


def conflicts(shipped: list[Shipped]) -> list[str]:
    """Give one line for each target that exists with other contents than it would get."""
    lines = []
    for item in shipped:
        try:
            same = item.target.read_text(encoding="utf-8") == item.text
        except (FileNotFoundError, NotADirectoryError):  # not there yet
            continue
        except (OSError, UnicodeDecodeError) as exc:
            lines.append(f"{item.target}: cannot read: {getattr(exc, 'strerror', exc)}")
            continue
        if not same:
            lines.append(
                f"{item.target}: exists and differs from the shipped {item.name}; "
                "--force replaces it"
            )
    return lines


def write(item: Shipped) -> str:
    """Write ``item`` to its target (a new file renamed over the old one, with its mode);
    give what was done: ``wrote``, ``replaced`` or ``unchanged``. Raises
    :class:`InstallError` if the folder or file cannot be written."""
    try:
        if item.target.read_text(encoding="utf-8") == item.text:
            return "unchanged"
        done = "replaced"
    except (FileNotFoundError, NotADirectoryError):  # not there yet
        done = "wrote"
    except (OSError, UnicodeDecodeError):
        done = "replaced"
    try:
        item.target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=item.target.parent, prefix=".organiser-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(item.text)
            os.chmod(temporary, item.mode)
            os.replace(temporary, item.target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InstallError(f"{item.target}: cannot write: {exc.strerror}") from None
    return done


@cli.command()
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("names", nargs=-1, metavar="[FILE]...")
@click.option(
    "--prefix",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the files into DIR (e.g. "
    + "; ".join(f"{k.name}: {k.target}" for k in KINDS.values())
    + "). Without it they are printed.",
)
@click.option(
    "--print",
    "show",
    is_flag=True,
    help="Print the files even with --prefix (each after a '==> PATH <==' line); write nothing.",
)
@click.option("--force", is_flag=True, help="Replace a file that exists with other contents.")
@click.option(
    "--bin",
    "bin_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder of the organiser executable the units and cron file run (shipped: "
    f"{SHIPPED_BIN}; default: this organiser's).",
)
def install(
    kind: str,
    names: tuple[str, ...],
    prefix: Path | None,
    show: bool,
    force: bool,
    bin_dir: Path | None,
) -> None:
    """Print or write the systemd units, cron file or example configuration it carries.

    \b
      organiser install systemd --prefix /etc/systemd/system
      organiser install cron --prefix /etc/cron.d          # as /etc/cron.d/organiser
      organiser install config --prefix /etc/organiser     # as organiser.ini, mode 0640
      organiser install systemd organiser.service          # print one unit

    The units and the cron file run the organiser executable this command is (--bin to
    choose another). A file that exists with other contents is left alone, and nothing is
    written, unless --force is given.
    """
    chosen = KINDS[kind]
    if bin_dir is None and kind in RUNS_ORGANISER:
        bin_dir = this_bin()
        if bin_dir is None:
            logs.say(f"organiser not found on PATH: the files run {SHIPPED_BIN}", "warning")
    shipped = files(chosen, names, prefix or Path(chosen.target), bin_dir)
    if prefix is None or show:
        for n, item in enumerate(shipped):
            if prefix is not None or len(shipped) > 1:
                click.echo(("\n" if n else "") + f"==> {item.target if prefix else item.name} <==")
            click.echo(item.text, nl=False)
        return
    problems = [] if force else conflicts(shipped)
    if problems:
        raise InstallError("\n".join(problems))
    for item in shipped:
        click.echo(f"{write(item)} {item.target}")
    if kind == "systemd":
        logs.say("then: systemctl daemon-reload", "info")
