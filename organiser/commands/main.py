"""Entry point of the ``organiser`` console script: the group and all its subcommands."""

from __future__ import annotations

from organiser import logs
from organiser.commands import account, daemon, drift, info, marks, review, web
from organiser.commands.cli import cli

SUBCOMMANDS = (
    marks,
    info,
    daemon,
    account,
    drift,
    review,
    web,
)  # imported for their @cli.command registrations


def main() -> None:
    """Run the ``organiser`` command (first logging phase: defaults, until the configuration
    is read)."""
    logs.setup()
    cli(prog_name="organiser")
