"""``organiser serve``: the PDS DOI Service API over HTTP."""

from __future__ import annotations

import click

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
