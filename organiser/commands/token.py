"""``organiser token add|list|revoke``: the web API's bearer tokens."""

from __future__ import annotations

import json

import click

from organiser import logs
from organiser.actions import tokens
from organiser.app import App
from organiser.commands.cli import cli


@cli.group()
def token() -> None:
    """Bearer tokens of the web API (organiser serve).

    \b
    Roles: reader     lists and reads records and the pending-release report;
           submitter  also reserves, updates and submits, as its --email address;
           operator   also approves (releases) and rejects records in review.
    Only a token's SHA-256 is stored: the token is printed once, by `token add`.
    """


@token.command(name="add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.label for r in tokens.Role]),
    required=True,
    help="What the token may do.",
)
@click.option(
    "--email",
    metavar="ADDR",
    help="The submitter address of a submitter or operator token (required for them).",
)
@click.pass_obj
def token_add(app: App, name: str, role: str, email: str | None) -> None:
    """Make a token called NAME and print it (once: only its hash is kept)."""
    app.open_db()
    secret = tokens.add(name, role, email, app.clock())
    click.echo(secret)
    logs.say(
        f"token {name!r} ({role}) made; it is shown only now: give it to its user "
        "as 'Authorization: Bearer TOKEN'",
        "info",
    )


@token.command(name="list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON array: name, role, email, created_at, revoked_at (null while active).",
)
@click.pass_obj
def token_list(app: App, as_json: bool) -> None:
    """List tokens: name, role, address, created, revoked (never the tokens or hashes)."""
    app.creates_db = False  # only reads: without a database it says where it looked
    app.open_db()
    rows = tokens.listing()
    if as_json:
        click.echo(json.dumps([_token_row(row) for row in rows], indent=2, ensure_ascii=False))
        return
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        click.echo(
            f"{row.name}\t{row.role}\t{row.email or '-'}\t"
            f"created {row.created_at:%Y-%m-%d %H:%M}\t{revoked}"
        )


def _token_row(row: tokens.TokenView) -> dict[str, str | None]:
    """Give a token as ``token list --json`` shows it (times in UTC, ISO 8601)."""
    return {
        "name": row.name,
        "role": row.role,
        "email": row.email,
        "created_at": row.created_at.isoformat(" ", "seconds"),
        "revoked_at": row.revoked_at.isoformat(" ", "seconds") if row.revoked_at else None,
    }


@token.command(name="revoke")
@click.argument("name")
@click.pass_obj
def token_revoke(app: App, name: str) -> None:
    """Revoke the token NAME: requests with it get 401 from now on."""
    app.open_db()
    revoked = tokens.revoke(name, app.clock())
    click.echo(f"token {revoked.name!r} revoked")
