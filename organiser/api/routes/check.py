"""``GET /dois/check``: the records pending release (in review, approved and waiting for the
register pass, or failing), as 0.2 answers it: a list of ``doi_record``s; mailed when asked."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response

from organiser.actions import records as read
from organiser.actions import report as reports
from organiser.api import schemas
from organiser.api.auth import CHALLENGE, Caller, public_reader
from organiser.api.deps import app_of, opened
from organiser.api.errors import ApiError

router = APIRouter(tags=["dois"])
log = structlog.get_logger("organiser.api")
#: The answer's header that says whether the report was mailed (``email=true``).
MAILED = "X-Email"


@router.get(
    "/dois/check",
    operation_id="get_check_dois",
    summary="The records pending release",
    response_model=list[schemas.DoiRecord],
    responses=schemas.errors(400, 401, 403, 503),
    description="Records in review, approved and waiting for the register pass, and records "
    "whose last try failed (why: `message`), oldest change first per node and submitter. "
    "`submitter` names who asks (0.2 requires it). With `email=true` (submitter and "
    "operator tokens) the report is mailed, as `organiser report --email` does, to `[email] "
    "recipients` plus `submitter` (an email address, else 400; a submitter token's own "
    "only, else 403), and to the submitters of the pending records (their own part); "
    "nobody else. `attachment=true` adds the "
    f"records as CSV; the `{MAILED}` header says `sent`, or why not everyone got it. No "
    "token is needed without `email=true` when `[api] public_reads = true`.",
)
def get_check(
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(public_reader)],
    submitter: Annotated[str, Query(description="Who asks (an email address).")],
    email: Annotated[bool, Query(description="Also mail the report.")] = False,
    attachment: Annotated[bool, Query(description="With email: attach a CSV.")] = False,
) -> list[schemas.DoiRecord]:
    if not submitter.strip():
        raise ApiError(400, "query parameter 'submitter': required")
    if email and caller.anonymous:
        raise ApiError(
            401, "email=true needs a bearer token (Authorization: Bearer TOKEN)", CHALLENGE
        )
    app = app_of(request)
    with opened(app):
        report = reports.pending(None, app.clock())
        answer = [schemas.detail(read.show(pending.doi)) for pending in report.records]
    if email:
        warning = reports.send(app, caller.actor, report, attachment, asker=submitter)
        log.info("api check mailed", token=caller.name, asked_by=submitter, warning=warning)
        response.headers[MAILED] = "sent" if warning is None else header_value(warning)
    return answer


def header_value(text: str) -> str:
    """Give ``text`` as an HTTP header's value: one line (a mail server's answer may have
    several), ASCII (other characters as ``\\xNN`` escapes)."""
    return " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
