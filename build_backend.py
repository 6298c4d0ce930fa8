"""organiser's build backend: setuptools' own (``setuptools.build_meta``), except that
building a wheel also asks for the package's runtime dependencies and click-man: setup.py
imports the command tree to generate the man pages and completion scripts. An editable
install and an sdist need nothing more than setuptools."""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (the other hooks, unchanged)

#: What setup.py needs besides the runtime dependencies to generate the man pages.
MAN_PAGES = "click-man>=0.5"


def _runtime() -> list[str]:
    """Give setup.cfg's install_requires."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(Path(__file__).with_name("setup.cfg"), encoding="utf-8")
    return [line.strip() for line in parser["options"]["install_requires"].splitlines() if line]


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None) -> list[str]:
    """Give what building a wheel needs: setuptools', the runtime dependencies, click-man."""
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *_runtime(), MAN_PAGES]
