"""``GET /dois/check``: the pending-release report (records in review, to be registered, or
failing, per node and submitter, with their age), as JSON, and mailed when asked."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request

from organiser.actions import report as reports
from organiser.api import schemas
from organiser.api.auth import Caller, reader
from organiser.api.deps import app_of, opened

router = APIRouter(tags=["dois"])
log = structlog.get_logger("organiser.api")


@router.get(
    "/dois/check",
    operation_id="get_check_dois",
    summary="The pending-release report",
    response_model=schemas.CheckReport,
    responses=schemas.errors(400, 401, 403, 503),
    description="Records in review, approved and waiting for the register pass, and records "
    "whose last try failed. `submitter` narrows it to that submitter's records. With "
    "`email=true` (submitter and operator tokens) it is mailed, as `organiser report --email` "
    "does, to `[email] recipients` and to the submitters of the pending records; "
    "`attachment=true` adds the records as CSV.",
)
def get_check(
    request: Request,
    caller: Annotated[Caller, Depends(reader)],
    submitter: Annotated[str | None, Query(description="Only this submitter's records.")] = None,
    email: Annotated[bool, Query(description="Also mail the report.")] = False,
    attachment: Annotated[bool, Query(description="With email: attach a CSV.")] = False,
) -> schemas.CheckReport:
    app = app_of(request)
    with opened(app):
        report = reports.pending(submitter.strip() if submitter else None, app.clock())
    answer = schemas.CheckReport(**report.as_dict())
    if email:
        warning = reports.send(app, caller.actor, report, attachment)
        log.info("api check mailed", token=caller.name, warning=warning)
        answer.email = schemas.EmailOutcome(sent=warning is None, warning=warning)
    return answer
