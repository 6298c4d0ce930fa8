"""Build steps that setup.cfg cannot describe (everything else is there).

A wheel (``pip wheel .``, ``pip install .``) carries, in ``organiser/share/``:

- the systemd units, the cron file and the example configuration, copied from the source
  tree's ``systemd/``, ``jobs/`` and ``config/`` (``organiser install`` writes them out);
- shell completion scripts for bash, zsh and fish (click's own, ``_ORGANISER_COMPLETE``)
  and man pages (click-man, from the command tree: ``organiser.1`` and one page per
  subcommand), generated here;

and installs the completion scripts and man pages as data files where the shells and
``man`` look: ``<prefix>/share/bash-completion/completions/organiser``,
``share/zsh/site-functions/_organiser``, ``share/fish/vendor_completions.d/organiser.fish``
and ``share/man/man1/organiser*.1``. Generating them imports the command tree, so the
build needs the runtime dependencies and click-man (build_backend.py asks for them).

An editable install (``pip install -e .``) skips all of this: ``organiser install`` reads
the source tree's folders then, and developers have no need of the generated files.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# setuptools has no install_data of its own: distutils' (setuptools' copy, imported after it)
from distutils.command.install_data import install_data  # isort: skip

HERE = Path(__file__).resolve().parent


def _shipped():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HERE))
    from organiser import shipped

    return shipped


def _copy_install_files(share: Path) -> None:
    """Copy the units, cron file and example configuration into ``share/<kind>/``."""
    for kind in _shipped().KINDS.values():
        folder = share / kind.name
        folder.mkdir(parents=True, exist_ok=True)
        found = sorted({p for pattern in kind.patterns for p in (HERE / kind.source).glob(pattern)})
        if not found:
            raise SystemExit(f"setup.py: no {' '.join(kind.patterns)} in {kind.source}/")
        for path in found:
            shutil.copyfile(path, folder / path.name)


def _man_date() -> str:
    """Give the man pages' date: SOURCE_DATE_EPOCH's (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch else None))


def _generate(share: Path) -> None:
    """Write the completion scripts and man pages into ``share/completion`` and
    ``share/man`` from the command tree. Raises SystemExit naming what is missing when the
    command tree or click-man cannot be imported."""
    shipped = _shipped()
    try:
        import click
        from click.shell_completion import get_completion_class
        from click_man.core import write_man_pages

        from organiser import __version__
        from organiser.commands.main import cli
    except ImportError as exc:
        raise SystemExit(
            f"setup.py: cannot generate the man pages and completion scripts: {exc} "
            "(build with build isolation, or install click-man and organiser's dependencies)"
        ) from None
    completion = share / "completion"
    completion.mkdir(parents=True, exist_ok=True)
    for shell, name, _, _ in shipped.COMPLETIONS:
        complete = get_completion_class(shell)
        if complete is None:
            raise SystemExit(f"setup.py: click has no {shell} completion")
        source = complete(cli, {}, "organiser", "_ORGANISER_COMPLETE").source()
        (completion / name).write_text(source.rstrip("\n") + "\n")
    man = share / "man"
    man.mkdir(parents=True, exist_ok=True)
    # the NAME line: the first sentence, not click's 45 characters of it
    cli.short_help = (cli.help or "").strip().splitlines()[0].rstrip(".")
    ctx = click.Context(cli, info_name="organiser")
    for name in cli.list_commands(ctx):  # the group imports its subcommands when asked
        try:
            cli.get_command(ctx, name)
        except ImportError as exc:
            why = (
                "a module missing from the source tree?"
                if (exc.name or "").startswith("organiser")
                else "a dependency missing from setup.cfg's install_requires?"
            )
            raise SystemExit(
                f"setup.py: cannot generate the man pages: organiser {name}: {exc} ({why})"
            ) from None
    write_man_pages("organiser", cli, version=__version__, target_dir=str(man), date=_man_date())


class BuildPy(build_py):
    """build_py, then the install files and the generated ones into organiser/share."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # organiser install falls back to the source tree's folders
        share = Path(self.build_lib) / "organiser" / _shipped().SHARE
        shutil.rmtree(share, ignore_errors=True)  # nothing left from an earlier build
        _copy_install_files(share)
        _generate(share)


class InstallData(install_data):
    """Install the generated completion scripts and man pages (from build_py's output)
    where the shells and man look, under the installation prefix."""

    def run(self) -> None:
        shipped = _shipped()
        share = Path(self.get_finalized_command("build_py").build_lib) / "organiser"
        share = share / shipped.SHARE
        self.data_files = []
        if (share / "man").is_dir():
            pages = sorted(str(p) for p in (share / "man").glob("*.1"))
            self.data_files.append((shipped.MAN_DIR, pages))
            for _, name, folder, installed_as in shipped.COMPLETIONS:
                # install_data keeps file names: copy to the name the shell looks for
                build_base = Path(self.get_finalized_command("build").build_base)
                named = build_base / "organiser-data" / folder / installed_as
                named.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(share / "completion" / name, named)
                self.data_files.append((folder, [str(named)]))
        super().run()


setup(
    cmdclass={"build_py": BuildPy, "install_data": InstallData},
    # a placeholder, so that install_data runs; InstallData.run says what it installs
    data_files=[(_shipped().MAN_DIR, [])],
)
