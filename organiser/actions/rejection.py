"""Mailing submitters why their records were sent back (reject with a reason)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from organiser.actions.views import Marked
from organiser.app import App
from organiser.errors import OrganiserError

log = structlog.get_logger("organiser.review")


def mail_submitters(app: App, rejected: Sequence[Marked], reason: str, by: str) -> list[str]:
    """Mail each submitter of ``rejected`` (one message per address) the reason; give one
    warning line per message that could not go out (none when ``[email] smtp_host`` is not
    set: then nothing is sent and a warning says so)."""
    mailer = app.mailer()
    if mailer is None:
        return ["the submitters were not mailed: [email] smtp_host is not set"]
    by_address: dict[str, list[Marked]] = {}
    for record in rejected:
        if record.submitter:
            by_address.setdefault(record.submitter, []).append(record)
    warnings = []
    for address, records in by_address.items():
        lines = [f"  {r.doi}  {r.identifier}  {r.title or ''}".rstrip() for r in records]
        body = (
            f"An operator ({by}) sent back {len(records)} record(s) you submitted for release:"
            f"\n\n" + "\n".join(lines) + f"\n\nReason: {reason}\n\n"
            "A first release is reserved again (correct it and submit it again); a change to "
            "a published DOI was dropped (the DOI is as it was).\n"
        )
        subject = f"organiser: {len(records)} record(s) sent back: {reason[:60]}"
        try:
            mailer.send([address], subject, body)
        except OrganiserError as exc:
            log.warning("rejection mail failed", to=address, error=str(exc))
            warnings.append(f"{address} was not mailed: {exc}")
    return warnings
