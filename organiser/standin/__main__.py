"""``organiser-standin``: run the DataCite stand-in on 127.0.0.1 until interrupted."""

from __future__ import annotations

import signal
import sys

import click

from organiser.standin.server import DataCite, StandinServer


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0: any free one).")
@click.option(
    "--username",
    default="DEMO.ORGANISER",
    show_default=True,
    help="Repository account the stand-in accepts.",
)
@click.option(
    "--password",
    default="standin-password",
    show_default=True,
    help="Its password (the stand-in is local and holds nothing real).",
)
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    default=["10.5072"],
    show_default=True,
    help="DOI prefix the account owns; repeat for several.",
)
@click.option(
    "--account",
    "more",
    multiple=True,
    metavar="USER:PASSWORD:PREFIX[,PREFIX]",
    help="One more repository account with its password and prefixes; repeat for several.",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def main(
    port: int,
    username: str,
    password: str,
    prefixes: tuple[str, ...],
    more: tuple[str, ...],
    verbose: bool,
) -> None:
    """Serve a DataCite REST API stand-in on 127.0.0.1 and print its URL on stdout.

    Faults are switched with PUT /_standin/faults (JSON); GET /_standin/dois shows what it
    holds, POST /_standin/dois (a JSON list of {doi, attributes, state, updated}) preloads it.
    """
    accounts = {username: (password, list(prefixes))}
    accounts.update(parse_account(entry) for entry in more)
    server = StandinServer(DataCite(accounts), port, verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(server.url, nl=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def parse_account(entry: str) -> tuple[str, tuple[str, list[str]]]:
    """Give (username, (password, prefixes)) of an ``--account USER:PASSWORD:PREFIX[,…]``
    (the password may hold ':'). Raises ``click.BadParameter`` naming the option."""
    user, _, rest = entry.partition(":")
    secret, _, held = rest.rpartition(":")
    prefixes = [p.strip() for p in held.split(",") if p.strip()]
    if not user or not secret or not prefixes:
        raise click.BadParameter(
            f"{entry!r}: not USER:PASSWORD:PREFIX[,PREFIX]", param_hint="--account"
        )
    return user, (secret, prefixes)


if __name__ == "__main__":
    main()
