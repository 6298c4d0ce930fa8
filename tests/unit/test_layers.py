"""The layering: commands and api → actions → engine → datacite, storage, notify → domain, with
intake beside the engine (never imported by it). No import runs upward."""

from __future__ import annotations

import ast
from pathlib import Path

import organiser

ROOT = Path(organiser.__file__).parent
#: Each part of the package and its layer: a module may import only its own layer or lower
#: ones (commands start the API server, so they sit just above it).
LAYERS = {
    "commands": 7,
    "api": 6,
    "web": 6,
    "actions": 5,
    "app": 4,
    "engine": 3,
    "datacite": 2,
    "storage": 2,
    "notify": 2,
    "intake": 2,
    "domain": 1,
    "accounts": 1,
    "config": 0,
    "config_accounts": 0,
    "config_parsers": 0,
    "config_schema": 0,
    "errors": 0,
    "lock": 0,
    "logs": 0,
    "redact": 0,
    "shipped": 0,
}
#: Not part of the layering: the entry point and the DataCite stand-in for tests.
OUTSIDE = {"__main__", "__init__", "standin"}


def _part(module: str) -> str | None:
    """Give the part of ``organiser`` a dotted module name lies in (None: outside it)."""
    names = module.split(".")
    return names[1] if names[0] == "organiser" and len(names) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """Give (line, part of organiser) for every organiser import in ``path``, nested ones
    included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "organiser":  # from organiser import logs
                found += [(node.lineno, alias.name) for alias in node.names]
            elif (part := _part(node.module)) is not None:
                found.append((node.lineno, part))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, p) for a in node.names if (p := _part(a.name)) is not None]
    return found


def _upward(root: Path = ROOT) -> list[str]:
    """Give one line per import that runs upward in the package at ``root``."""
    wrong = []
    for path in sorted(root.rglob("*.py")):
        part = path.relative_to(root).with_suffix("").parts[0]
        if part in OUTSIDE:
            continue
        assert part in LAYERS, f"{path}: add {part!r} to LAYERS"
        for line, target in _imports(path):
            if target == part or target == "__version__":
                continue
            assert target in LAYERS, f"{path}:{line}: add {target!r} to LAYERS"
            if LAYERS[target] > LAYERS[part] or (part == "engine" and target == "intake"):
                wrong.append(f"{path.relative_to(root.parent)}:{line} {part} imports {target}")
    return wrong


def test_no_import_runs_upward() -> None:
    assert _upward() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: a storage module importing the engine is caught."""
    package = tmp_path / "organiser"
    (package / "storage").mkdir(parents=True)
    (package / "storage" / "bad.py").write_text(
        "def f():\n    from organiser.engine import passes\n"
    )
    (package / "engine").mkdir()
    (package / "engine" / "worse.py").write_text("from organiser.intake import read\n")
    assert _upward(package) == [
        "organiser/engine/worse.py:1 engine imports intake",
        "organiser/storage/bad.py:2 storage imports engine",
    ]
