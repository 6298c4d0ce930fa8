"""A click group whose subcommands are imported only when one of them runs (click's
documented "lazy group" pattern), so that ``organiser --help`` and a command that needs
little start quickly.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class Lazy:
    """Where a subcommand is defined (``"package.module:attribute"``) and its help line: the
    first sentence of its docstring, shown by the group's ``--help`` without importing it."""

    target: str
    help: str


class LazyGroup(click.Group):
    """A group that lists the subcommands in ``lazy`` and imports each one's module when it
    is asked for (to run it, for its own ``--help``, or for shell completion). A module may
    register further commands on the group as it is imported (``@group.command()``)."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Give the names of the subcommands, loaded or not, sorted."""
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Give the subcommand called ``cmd_name``, importing its module the first time (None
        if there is none). Raises ``ImportError`` if its module cannot be imported and
        ``TypeError`` if the table points at something that is not a click command."""
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.load(cmd_name), cmd_name)
        return self.commands.get(cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        """Import and give the subcommand ``cmd_name`` of the table. Raises ``ImportError``
        or ``TypeError`` as :meth:`get_command` does."""
        module, _, attribute = self.lazy[cmd_name].target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
        return command

    def listed(self, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
        """Give each visible subcommand as the help lists it: the command itself if it is
        loaded, else a stand-in carrying its table help line (nothing is imported)."""
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name].help)
            if not command.hidden:
                yield name, command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the "Commands" section as :class:`click.Group` does, from :meth:`listed`."""
        commands = list(self.listed(ctx))
        if not commands:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
