"""Entry point of the ``organiser`` console script: the group, whose subcommands are imported
only when one of them runs (:data:`organiser.commands.cli.COMMANDS`)."""

from __future__ import annotations

import sys

import click

from organiser import logs
from organiser.commands.cli import COMMANDS, Failed, cli
from organiser.errors import EXIT_FAILED, EXIT_OK

#: The subcommands by name: where each is defined and its help line. Nothing needs importing
#: to register them any more; the name stays for callers that imported it to do so.
SUBCOMMANDS = COMMANDS

__all__ = ["SUBCOMMANDS", "cli", "main"]


def main() -> None:
    """Run the ``organiser`` command (logging starts at its defaults in the group's callback,
    until the configuration is read). A usage error (a missing or bad option) is one line,
    exit 2, like every other user error, instead of click's usage block."""
    try:
        code = cli.main(prog_name="organiser", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else _command_path(sys.argv[1:])
        message = " ".join(exc.format_message().split())  # click lists choices on lines
        logs.say(f"Error: {message} (see '{where} --help')")
        sys.exit(exc.exit_code)
    except Failed as exc:  # one line per problem, through logs.say
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # click's own (e.g. a file it could not open)
        logs.say(f"Error: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except click.Abort:
        logs.say("Aborted!")
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _command_path(args: list[str]) -> str:
    """Give the (sub)command ``args`` name, e.g. ``organiser list``, for a usage error click
    raised without its context (an option missing its value); ``organiser`` if unsure."""
    try:  # click's own walk of the arguments for completion: no callbacks, no prompts
        from click.shell_completion import _resolve_context

        return _resolve_context(cli, {}, "organiser", args).command_path
    except Exception:  # only a hint in an error line
        return "organiser"
