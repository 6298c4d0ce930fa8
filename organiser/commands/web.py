"""The PDS DOI Service API: ``organiser serve``, and its tokens (issue 9)."""

from __future__ import annotations

import click

from organiser.actions import tokens
from organiser.app import App
from organiser.commands.cli import cli, configure_logging


@cli.command()
@click.option("--host", help="Listen on this address instead of [api] host.")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Listen on this port instead of [api] port."
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the PDS DOI Service API 0.2 over HTTP (uvicorn).

    Under /PDS_APIs/pds_doi_api/0.2: GET /dois, GET /doi, POST /dois (reserve, update),
    POST /doi/submit, GET /dois/check, and for operators POST /doi/release and /doi/reject;
    the OpenAPI document at .../openapi.json and Swagger UI at .../ui/. Every operation needs
    a bearer token (organiser token add). The API only marks and reads: the passes talk to
    DataCite. Listens on [api] host and port (127.0.0.1:8080); SIGTERM or SIGINT finishes the
    open requests and exits 0. Logs one line per request (JSON under systemd).
    """
    from organiser.api.server import serve as run  # uvicorn and FastAPI only for this command

    app: App = ctx.obj
    configure_logging(app, ctx.meta["quiet"], ctx.meta["verbose"], daemon=True)
    api = app.config["api"]
    ctx.exit(run(app, host or api["host"], port or api["port"]))


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
    click.echo(
        f"token {name!r} ({role}) made; it is shown only now: give it to its user "
        "as 'Authorization: Bearer TOKEN'",
        err=True,
    )


@token.command(name="list")
@click.pass_obj
def token_list(app: App) -> None:
    """List tokens: name, role, address, created, revoked (never the tokens or hashes)."""
    app.open_db()
    for row in tokens.listing():
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        click.echo(
            f"{row.name}\t{row.role}\t{row.email or '-'}\t"
            f"created {row.created_at:%Y-%m-%d %H:%M}\t{revoked}"
        )


@token.command(name="revoke")
@click.argument("name")
@click.pass_obj
def token_revoke(app: App, name: str) -> None:
    """Revoke the token NAME: requests with it get 401 from now on."""
    app.open_db()
    revoked = tokens.revoke(name, app.clock())
    click.echo(f"token {revoked.name!r} revoked")
