"""Entry point of the ``organiser`` console script: the group and all its subcommands."""

from __future__ import annotations

import sys

import click

from organiser import logs
from organiser.commands import (
    check,
    config,
    daemon,
    import_,
    list_,
    marks,
    review,
    serve,
    show,
    status,
    token,
)
from organiser.commands.cli import cli
from organiser.errors import EXIT_FAILED, EXIT_OK

#: One module per command, named after it, imported for its ``@cli.command`` registration.
SUBCOMMANDS = (marks, list_, show, status, config, daemon, import_, check, review, serve, token)


def main() -> None:
    """Run the ``organiser`` command (first logging phase: defaults, until the configuration
    is read). A usage error (a missing or bad option) is one line, exit 2, like every other
    user error, instead of click's usage block."""
    logs.setup()
    try:
        code = cli.main(prog_name="organiser", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "organiser"
        click.echo(f"Error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
