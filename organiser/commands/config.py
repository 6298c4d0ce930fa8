"""``organiser config generate|check|rebind``: the configuration, documented and checked, and
the DataCite endpoint the database is bound to."""

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
    if values.files:
        click.echo(f"# read: {', '.join(values.files)}")
    else:
        click.echo(f"# read no file (looked for {', '.join(values.looked_in)})")
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


@config.command()
@click.pass_obj
def rebind(app: App) -> None:
    """Bind the database to the configured DataCite endpoint and account ([datacite] url and
    username): runs against them are refused until this is done.

    The change is recorded in the database (who, on which host, when) beside the bindings
    before it; run it only when the database is meant to move, e.g. from DataCite's test
    system to production.
    """
    from organiser.actions import binding
    from organiser.actions.access import Actor

    before, after = binding.rebind(app, f"organiser config rebind ({Actor.operator().name})")
    if before is None:
        click.echo(f"bound to {after.endpoint} (the database was not bound yet)")
    elif before == after:
        click.echo(f"already bound to {after.endpoint}; nothing changed")
    else:
        click.echo(f"rebound from {before.endpoint} to {after.endpoint}; recorded")


@config.command()
@click.pass_obj
def binding(app: App) -> None:
    """Show the DataCite endpoints and accounts the database has been bound to, the one in
    force last."""
    from organiser.actions import binding as bindings

    app.creates_db = False
    rows = bindings.bound(app)
    if not rows:
        click.echo("not bound yet: the first run that sends binds it to [datacite] url/username")
    for row in rows:
        click.echo(row.line())
