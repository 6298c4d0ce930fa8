"""``organiser config generate|check|rebind``: the configuration, documented and checked, and
the DataCite endpoint the database is bound to."""

from __future__ import annotations

import json
from typing import Any

import click

from organiser.app import App
from organiser.commands.cli import cli
from organiser.config import SCHEMA, ConfigError, example_ini
from organiser.config_schema import ACCOUNT_SCHEMA
from organiser.storage.database import redact_url


@cli.group()
def config() -> None:
    """Show or check the configuration."""


@config.command()
def generate() -> None:
    """Print an INI file documenting every key and its default."""
    click.echo(example_ini(), nl=False)


@config.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object: source, files read, files looked for and the values by section "
    "(masked as in the text); errors stay one line each on stderr, exit 2.",
)
@click.pass_obj
def check(app: App, as_json: bool) -> None:
    """Check the configuration and print it (passwords and URL credentials are masked).

    Required keys that are missing are errors here, although commands that only read the
    database run without them.
    """
    values = app.config
    if values.missing:
        raise ConfigError("\n".join(values.missing.values()))
    accounts = app.accounts  # an account's unknown node is an error here too
    if as_json:
        shown = {
            section: {
                key: _masked(section, key, value, as_json=True) for key, value in keys.items()
            }
            for section, keys in values.values.items()
        }
        found = {"ok": True, "source": values.source, "files": list(values.files)}
        found |= {"looked_in": [str(p) for p in values.looked_in], "values": shown}
        for name, keys in values.accounts.items():
            shown[f"account {name}"] = {
                key: _masked("account", key, value, as_json=True) for key, value in keys.items()
            }
        found["accounts"] = [
            {
                "name": a.name,
                "username": a.username,
                "prefixes": list(a.prefixes),
                "nodes": list(a.nodes),
                "identifiers": list(a.identifiers),
                "default": a.default,
            }
            for a in accounts.all
        ]
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"# configuration OK (from {values.source})")
    if values.files:
        click.echo(f"# read: {', '.join(values.files)}")
    else:
        click.echo(f"# read no file (looked for {', '.join(values.looked_in)})")
    for section, keys in values.values.items():
        click.echo(f"[{section}]")
        for key, value in keys.items():
            click.echo(f"{key} = {_masked(section, key, value)}")
    for name, keys in values.accounts.items():
        click.echo(f"[account {name}]")
        for key, value in keys.items():
            click.echo(f"{key} = {_masked('account', key, value)}")
    click.echo(
        "# accounts: a new record goes to the account listing its node, else the first whose "
        "identifiers match, else the default; a given DOI to the account of its prefix"
    )
    for account in accounts.all:
        click.echo(f"#   {account.name} ({account.username}): {account.routing()}")
    if accounts.several:
        click.echo("# a record keeps its account when this routing changes")


def _masked(section: str, key: str, value: Any, as_json: bool = False) -> Any:
    """Give a value as ``config check`` shows it: a set password as ``***``, a database or
    DataCite URL without its credentials; for the text, lists, mappings and flags spelled
    as in the INI file (for JSON they stay lists, objects and booleans)."""
    spec = ACCOUNT_SCHEMA[key] if section == "account" else SCHEMA[section][key]
    if spec.secret and value:
        return "***"
    if key == "url" and section in ("database", "datacite"):
        return redact_url(value)
    if as_json:
        return list(value) if isinstance(value, tuple) else value
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    return value


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
