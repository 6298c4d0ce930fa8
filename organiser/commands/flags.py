"""The output flags every command takes, ``-q/--quiet`` and ``-v/--verbose``, before or
after its name, and the logging they choose (with ``[logging]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from organiser import logs

if TYPE_CHECKING:
    from organiser.app import App


def configure_logging(app: App, quiet: bool, verbose: bool, daemon: bool = False) -> None:
    """Second phase of logging: ``[logging]`` and the secrets to scrub (kept at the first
    phase's defaults if the configuration cannot be read; the command then reports that)."""
    from organiser.config import ConfigError

    try:
        cfg = app.config["logging"]
        secrets = app.config.secrets()
    except ConfigError:
        return
    level = logs.choose_level(cfg["level"], quiet, verbose, daemon, app.environ)
    try:
        logs.setup(level, cfg["format"], cfg["file"], secrets, app.environ)
    except OSError as exc:
        raise ConfigError(f"[logging] file: cannot open {cfg['file']}: {exc.strerror}") from None


def _output_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``-q``/``-v`` given after a subcommand: the same as before it (``ctx.meta``, which
    the commands read, and the logging level)."""
    if not value or param.name is None:
        return
    ctx.meta[param.name] = True
    app: App | None = ctx.obj
    if app is not None:
        daemon = ctx.find_root().invoked_subcommand == "daemon"
        configure_logging(app, ctx.meta.get("quiet", False), ctx.meta.get("verbose", False), daemon)


def with_output_flags(command: click.Command) -> click.Command:
    """Give ``command`` (and each subcommand of a group) with ``-q/--quiet`` and
    ``-v/--verbose`` options of its own, unless it has them already."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for short, long, text in (
        ("-q", "--quiet", "Print only errors and warnings (also before the subcommand)."),
        ("-v", "--verbose", "Log each record and retry to stderr (also before the subcommand)."),
    ):
        if short not in taken and long not in taken:
            command.params.append(
                click.Option(
                    [short, long],
                    is_flag=True,
                    expose_value=False,
                    callback=_output_flag,
                    help=text,
                )
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_output_flags(sub)
    return command
