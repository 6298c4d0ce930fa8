"""``organiser report``: what is pending release, optionally mailed."""

from __future__ import annotations

import json

import click

from organiser import logs
from organiser.actions import report as pending_report
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands.cli import cli
from organiser.errors import EXIT_FAILED, UserError


@cli.command()
@click.option(
    "--email", "mail", is_flag=True, help="Also mail it (operators: all; submitters: theirs)."
)
@click.option("--attachment", is_flag=True, help="With --email: attach the records as CSV.")
@click.option("--submitter", metavar="EMAIL", help="Only this submitter's records.")
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@click.pass_context
def report(
    ctx: click.Context, mail: bool, attachment: bool, submitter: str | None, as_json: bool
) -> None:
    """What is pending release: records in review, approved records waiting for the
    register pass, and records whose last try failed, per node and submitter, with age.

    With --email the report goes to [email] recipients, and each submitter of a record
    (an email address) gets the part about their records. Exit codes: 0 done; 1 some mail
    could not be sent (a warning says which); 2 no mail server configured, or a bad option.
    """
    app: App = ctx.obj
    if attachment and not mail:
        raise UserError("--attachment: goes with --email (it attaches the CSV to the mail)")
    if mail and app.mailer() is None:
        raise pending_report.NoMail("--email: [email] smtp_host is not set: nothing can be mailed")
    app.open_db()
    found = pending_report.pending(submitter, app.clock())
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(found.text(), nl=False)
    if not mail:
        return
    to = pending_report.recipients(app, found)
    warning = pending_report.send(app, Actor.operator(), found, attachment)
    if warning:
        logs.say(f"warning: {warning}", "warning")
        ctx.exit(EXIT_FAILED)
    message = f"report mailed to {', '.join(to)}"
    if as_json:  # stdout is the JSON object
        logs.say(message, "info")
    else:
        click.echo(message)
