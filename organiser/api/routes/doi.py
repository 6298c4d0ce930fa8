"""One record: ``GET /doi`` (metadata, status, DataCite state, last error, history),
``POST /doi/submit`` (reserved → review), ``PUT /doi`` (501, as in 0.2), and organiser's
approval endpoints for operator tokens: ``POST /doi/release`` (review → to-be-registered,
0.2's endpoint that waited for authentication) and ``POST /doi/reject`` (review → reserved).

The record is named by ``identifier``: a DOI (any form), the repository's identifier (e.g.
a LIDVID) or the local record id, as on the command line.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request

from organiser.actions import records as read
from organiser.actions import review
from organiser.api import schemas
from organiser.api.auth import Caller, operator, public_reader, reader, submitter
from organiser.api.deps import app_of, opened
from organiser.api.errors import ApiError

router = APIRouter(tags=["dois"])
log = structlog.get_logger("organiser.api")
Identifier = Annotated[
    str,
    Query(
        description="A DOI, the repository's identifier (e.g. a PDS4 LIDVID) or the record id.",
        examples=["urn:nasa:pds:lab_shocked_feldspars::1.0"],
    ),
]


def _detail(identifier: str) -> schemas.DoiRecord:
    return schemas.detail(read.show(identifier))


@router.get(
    "/doi",
    operation_id="get_doi_from_id",
    summary="One record with its metadata and history",
    response_model=schemas.DoiRecord,
    responses=schemas.errors(400, 401, 404, 503),
    description="No token is needed with `[api] public_reads = true`.",
)
def get_doi(
    request: Request, caller: Annotated[Caller, Depends(public_reader)], identifier: Identifier
) -> schemas.DoiRecord:
    with opened(app_of(request)):
        return _detail(read.find(identifier).doi)


@router.put(
    "/doi",
    operation_id="put_doi_from_id",
    summary="Not implemented (as in 0.2): use POST /dois?action=update",
    status_code=501,
    responses=schemas.errors(401, 501),
)
def put_doi(caller: Annotated[Caller, Depends(reader)]) -> None:
    raise ApiError(501, "PUT /doi is not implemented (as in 0.2); use POST /dois?action=update")


@router.post(
    "/doi/submit",
    operation_id="post_submit_doi",
    summary="Submit a reserved record for release",
    response_model=schemas.DoiRecord,
    responses=schemas.errors(400, 401, 403, 404, 503),
    description="Moves a reserved record (a draft at DataCite) to review, for an operator to "
    "approve (`organiser register`, or `POST /doi/release`); with `[api] review = false` "
    "straight to to-be-registered. `force` is accepted for 0.2 clients and changes nothing.",
)
def post_submit(
    request: Request,
    caller: Annotated[Caller, Depends(submitter)],
    identifier: Identifier,
    force: Annotated[bool, Query(description="Accepted; submit has no warnings.")] = False,
) -> schemas.DoiRecord:
    app = app_of(request)
    with opened(app):
        (done,) = review.submit(app, caller.actor, [identifier])
        log.info("api submit", token=caller.name, doi=done.doi)
        return _detail(done.doi)


@router.post(
    "/doi/release",
    operation_id="post_release_doi",
    summary="Approve a record in review (operators)",
    response_model=schemas.DoiRecord,
    responses=schemas.errors(400, 401, 403, 404, 503),
    description="Approves a record in review (as `organiser register`): a first release goes "
    "to-be-registered and the next register pass makes it findable; a submitter's change to a "
    "published DOI (status update-review) is applied and goes to the update pass. Operator "
    "tokens only.",
)
def post_release(
    request: Request, caller: Annotated[Caller, Depends(operator)], identifier: Identifier
) -> schemas.DoiRecord:
    app = app_of(request)
    with opened(app):
        (done,) = review.release(app, caller.actor, [identifier])
        log.info("api release", token=caller.name, doi=done.doi)
        return _detail(done.doi)


@router.post(
    "/doi/reject",
    operation_id="post_reject_doi",
    summary="Send a record in review back (operators)",
    description="A first release goes back to reserved; a submitter's change to a published "
    "DOI (update-review) is dropped and the record is as it was. The reason is kept in the "
    "history.",
    response_model=schemas.DoiRecord,
    responses=schemas.errors(400, 401, 403, 404, 503),
)
def post_reject(
    request: Request,
    caller: Annotated[Caller, Depends(operator)],
    identifier: Identifier,
    reason: Annotated[str, Query(description="Why; kept in the record's history.")],
) -> schemas.DoiRecord:
    app = app_of(request)
    with opened(app):
        (done,) = review.reject(app, caller.actor, [identifier], reason)
        log.info("api reject", token=caller.name, doi=done.doi)
        return _detail(done.doi)
