"""``organiser config generate|check``: the configuration, documented and checked."""

from __future__ import annotations

import click

from organiser.app import App
from organiser.commands.cli import cli
from organiser.config import SCHEMA, ConfigError, example_ini
from organiser.storage.database import redact_url


@cli.group()
def config() -> None:
    """Show or check the configuration."""


@config.command()
def generate() -> None:
    """Print an INI file documenting every key and its default."""
    click.echo(example_ini(), nl=False)


@config.command()
@click.pass_obj
def check(app: App) -> None:
    """Check the configuration and print it (passwords and URL credentials are masked).

    Required keys that are missing are errors here, although commands that only read the
    database run without them.
    """
    values = app.config
    if values.missing:
        raise ConfigError("\n".join(values.missing.values()))
    click.echo(f"# configuration OK (from {values.source})")
    for section, keys in values.values.items():
        click.echo(f"[{section}]")
        for key, value in keys.items():
            shown = value
            if SCHEMA[section][key].secret and value:
                shown = "***"
            elif key == "url" and section in ("database", "datacite"):
                shown = redact_url(value)
            elif isinstance(value, tuple):
                shown = ", ".join(value)
            elif isinstance(value, dict):
                shown = "; ".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, bool):
                shown = str(value).lower()
            click.echo(f"{key} = {shown}")
