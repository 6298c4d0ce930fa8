"""Configuration: defaults, file, environment, and errors naming section and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from organiser.config import ConfigError, example_ini, load

ROOT = Path(__file__).parent.parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "o.ini"
    path.write_text(text)
    return path


def test_file_and_environment_layers(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "[datacite]\nusername = A.B\npassword = p1\nprefix = 10.1234\ntimeout = 7\n"
    )
    config = load(path, {"ORGANISER_DATACITE_PASSWORD": "p2", "ORGANISER_DATACITE_TIMEOUT": "9"})
    assert config["datacite"]["password"] == "p2"
    assert config["datacite"]["timeout"] == 9.0
    assert config["datacite"]["prefix"] == ("10.1234",)  # one or more
    assert config["datacite"]["url"] == "https://api.test.datacite.org"
    assert config["organiser"]["batch_size"] == 100


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.ini: file not found$"):
        load(tmp_path / "nope.ini", {})


def test_secret_value_is_not_repeated_in_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "[datacite]\nusername = A\nprefix = 10.1234\npassword =\n")
    with pytest.raises(ConfigError) as raised:
        load(path, {})
    assert str(raised.value) == f"{path}: [datacite] password: *** must not be empty"


def test_example_file_is_what_config_generate_prints() -> None:
    assert (ROOT / "config" / "organiser.example.ini").read_text() == example_ini()


def test_readme_documents_every_key_with_its_default() -> None:
    from organiser.config import SCHEMA

    readme = (ROOT / "README.md").read_text()
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            default = (
                "*(required)*"
                if spec.default is None
                else (f"`{spec.default}`" if spec.default else "*(empty)*")
            )
            assert f"| `[{section}]` | `{key}` | {default} |" in readme, (section, key)
