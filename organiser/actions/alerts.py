"""After a run: bring the alert notices up to date and mail what is new. Never raises for
a mail problem: the run's results are already committed, and what could not be sent goes
out with the next run."""

from __future__ import annotations

import structlog

from organiser.app import App
from organiser.engine.passes import RunResult
from organiser.notify.digest import compose
from organiser.notify.mailer import MailError, RecipientRefused
from organiser.storage import notices

log = structlog.get_logger("organiser.alerts")


def after_run(app: App, result: RunResult) -> str | None:
    """Note this run's failures and outage, then send the digests; give a one-line warning
    if mail could not be sent (None otherwise)."""
    notes = [
        notices.FailureNote(
            f.record_id,
            f"{f.pass_name}\n{f.error}",
            {
                "doi": f.doi,
                "identifier": f.identifier,
                "node": f.node,
                "action": f.pass_name,
                "error": f.error,
                "transient": f.transient,
                "attempts": f.attempts,
                "retry_at": f.retry_at.isoformat(" ", "minutes"),
                **({"account": f.account} if f.account else {}),  # several accounts
            },
            f.submitter if f.submitter and "@" in f.submitter else None,
        )
        for f in result.failures
    ]
    # DataCite answered for a record: one went through, or was refused for itself (a record
    # that failed transiently, e.g. unreachable in a push of one record, says nothing)
    reached = any(p.done for p in result.passes) or any(not f.transient for f in result.failures)
    notices.update(notes, result.outage, recovered=reached, now=app.clock())
    return send_pending(app)


def send_pending(app: App) -> str | None:
    """Mail every notice not yet sent: one digest to the operators, one per submitter when
    ``notify_submitters`` is on. Give a one-line warning if sending failed.

    A submitter whose address the server refuses for good is not tried again for the same
    failures (and does not hold up the others); anything else that stops a mail leaves it
    pending for the next run."""
    mailer = app.mailer()
    if mailer is None:
        return None
    mail = app.config["email"]
    refused: list[str] = []
    try:
        waiting = notices.pending()
        if waiting and mail["recipients"]:
            message = compose(waiting, app.host)
            lost = mailer.send(mail["recipients"], message.subject, message.body)
            notices.mark_sent(waiting)
            log.info("alert sent", notices=len(waiting), to=len(mail["recipients"]) - len(lost))
            if lost:
                log.error("alert refused for some recipients", refused=lost)
        if mail["notify_submitters"]:
            by_submitter: dict[str, list] = {}
            for notice in notices.pending(for_submitters=True):
                by_submitter.setdefault(notice.submitter, []).append(notice)
            for submitter, own in by_submitter.items():
                message = compose(own, app.host, for_submitter=submitter)
                try:
                    mailer.send([submitter], message.subject, message.body)
                except RecipientRefused as exc:
                    log.info("alert to a submitter refused; not tried again", error=str(exc))
                    refused.append(str(exc))
                else:
                    log.info("alert sent to a submitter", notices=len(own))
                notices.mark_sent(own, to_submitters=True)
    except MailError as exc:
        # info: the command prints the warning on stderr, the daemon logs it as one
        log.info("alert not sent; it goes out with the next run", error=str(exc))
        return f"alert not sent (it goes out with the next run): {exc}"
    if refused:
        return f"alert not delivered (not tried again): {'; '.join(refused)}"
    return None
