"""``GET /dois`` (list, filtered, a page at a time) and ``POST /dois`` (reserve or update from
a labels payload, a PDS4 label, DataCite JSON or XML, or a ``url``).

Marking goes through the same functions and checks as ``organiser reserve`` and ``organiser
update`` (intake, then :mod:`organiser.actions.mark`): the same one-line messages, as a 400
JSON error body, and nothing marked when anything is wrong.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from organiser.actions import mark, marking
from organiser.actions import records as read
from organiser.api import BASE_PATH, schemas, urls
from organiser.api.auth import Caller, public_reader, submitter
from organiser.api.deps import app_of, opened, public_base
from organiser.api.errors import ApiError
from organiser.app import App
from organiser.domain.states import State
from organiser.intake.sources import Source

router = APIRouter(tags=["dois"])
log = structlog.get_logger("organiser.api")

#: Records a page gives when no ``limit`` is asked for, and the most it gives.
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
#: Values one filter of ``GET /dois`` may have (more: 400).
MAX_VALUES = 100
#: organiser's statuses, as ``organiser_status`` takes them.
KNOWN_STATES = tuple(state.value for state in State)
#: What the request body is called in messages (as a file's path is by the command line).
BODY = "body"
#: Request content types and the file suffix intake reads them as.
SUFFIXES = {
    "application/json": ".json",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
LABELS_EXAMPLE = {
    "labels": [
        {
            "status": "Reserved",
            "title": "Laboratory Shocked Feldspars Bundle",
            "publication_date": "2020-03-11",
            "product_type_specific": "PDS4 Collection",
            "author_last_name": "Johnson",
            "author_first_name": "J. R.",
            "related_resource": "urn:nasa:pds:lab_shocked_feldspars",
        }
    ]
}
REQUEST_BODY = {
    "description": "One or more records: the 0.2 labels payload (JSON rows with the PDS "
    "reserve spreadsheet's columns), DataCite REST JSON, a PDS4 label or DataCite XML "
    "(application/xml), or the spreadsheet itself (text/csv, .xlsx). Not with `url`.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": True},
            "example": LABELS_EXAMPLE,
        },
        "application/xml": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


class PostAction(StrEnum):
    RESERVE = "reserve"
    DRAFT = "draft"  # 0.2's name for giving a record new metadata: an alias of update
    UPDATE = "update"


def _values(description: str) -> Any:
    """Give the ``Query`` of a filter that may be repeated, at most :data:`MAX_VALUES` times."""
    return Query(description=f"{description} At most {MAX_VALUES}.", max_length=MAX_VALUES)


def _moment(name: str, value: str | None) -> date | datetime | None:
    """Give an ISO date (the whole UTC day) or date-time (that instant; without a zone, UTC)
    parameter. Raises :class:`ApiError` 400 naming the parameter."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise ApiError(
            400, f"{name} {value!r}: not an ISO date or date-time (YYYY-MM-DD[THH:MM[:SS[.ms]]])"
        ) from None
    if len(text) == 10:  # YYYY-MM-DD: the day
        return moment.date()
    return moment


def _node(app: App, node: str) -> str:
    """Give the steward node ``node`` names, in any case (``ENG`` is ``eng``); a node that is
    not known is left for the actions to refuse."""
    wanted = node.strip()
    return next((known for known in app.nodes if known.lower() == wanted.lower()), wanted)


def _required(name: str, value: str | None) -> str:
    """Give a required parameter's value without surrounding space. Raises
    :class:`ApiError` 400 naming ``name`` when it is missing or blank."""
    if value is None or not value.strip():
        raise ApiError(400, f"query parameter {name!r}: required")
    return value.strip()


@router.get(
    "/dois",
    operation_id="get_dois",
    summary="List records",
    response_model=list[schemas.DoiSummary],
    responses=schemas.errors(400, 401, 503),
    description="Records in id order, a page at a time: at most `limit`; when there are "
    'more, the `Link` header (`rel="next"`) and `X-Next-Cursor` give the next page (pass '
    "`cursor` with the same filters). Each filter may be repeated (any of its values "
    "matches); different filters must all match; text is compared without case. `status` "
    "takes the PDS DOI Service's statuses (draft, review, pending, findable, deactivated, "
    "and error, unknown, reserved, registered, which no record is in), `organiser_status` "
    "organiser's own. No token is needed with `[api] public_reads = true`.",
)
def get_dois(
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(public_reader)],
    doi: Annotated[list[str], _values("DOIs, in any DOI form.")] = [],  # noqa: B006
    submitter: Annotated[list[str], _values("Submitter addresses.")] = [],  # noqa: B006
    node: Annotated[list[str], _values("Steward node ids, e.g. img.")] = [],  # noqa: B006
    status: Annotated[
        list[str], _values("0.2 workflow statuses: draft, review, pending, findable, ...")
    ] = [],  # noqa: B006
    organiser_status: Annotated[
        list[str], _values("organiser's statuses, e.g. to-be-registered.")
    ] = [],  # noqa: B006
    ids: Annotated[list[str], _values("Identifiers or LIDs; `*` and `?` are wildcards.")] = [],  # noqa: B006
    start_date: Annotated[
        str | None,
        Query(
            description="Only records last changed at or after this UTC date-time (a date: "
            "from its start)."
        ),
    ] = None,
    end_date: Annotated[
        str | None,
        Query(
            description="Only records last changed at or before this UTC date-time (a date: "
            "to its end)."
        ),
    ] = None,
    title: Annotated[str | None, Query(description="Title contains this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="From X-Next-Cursor.")] = None,
) -> list[schemas.DoiSummary]:
    own = tuple(s.strip().lower() for s in organiser_status)
    for value, folded in zip(organiser_status, own, strict=True):
        if folded not in KNOWN_STATES:
            known = ", ".join(KNOWN_STATES)
            raise ApiError(400, f"organiser_status {value!r}: not an organiser status ({known})")
    filters = read.RecordFilter(
        dois=tuple(doi),
        submitters=tuple(submitter),
        nodes=tuple(node),
        statuses=own,
        statuses_0_2=tuple(status),
        ids=tuple(ids),
        since=_moment("start_date", start_date),
        until=_moment("end_date", end_date),
        title=title or None,
    )
    with opened(app_of(request)):
        page = read.listing(filters, limit + 1, read.after_of(cursor, "this API"))
    if len(page) > limit:
        page = page[:limit]
        following = read.cursor_of(page[-1].id)
        response.headers["X-Next-Cursor"] = following
        query = request.url.include_query_params(cursor=following).query
        response.headers["Link"] = (
            f'<{public_base(app_of(request))}{BASE_PATH}/dois?{query}>; rel="next"'
        )
    return [schemas.summary(record) for record in page]


@router.post(
    "/dois",
    operation_id="post_dois",
    summary="Reserve records, or give one new metadata",
    response_model=list[schemas.DoiRecord],
    responses={
        200: {"description": "The records reserved or updated, as 0.2's doi_record"},
        **schemas.errors(400, 401, 403, 404, 413, 503),
    },
    openapi_extra={"requestBody": REQUEST_BODY},
    description="`reserve` marks new records to-be-reserved (the reserve pass creates their "
    "drafts); `update` (or 0.2's `draft`) gives one existing record new metadata, the record "
    "found by the source's DOI, identifier or LID. Checked exactly as `organiser reserve` and "
    "`organiser update` check (DataCite schema, LIDVIDs, ORCIDs, duplicates): every problem is "
    "one line of a 400 answer, and nothing is marked. A submitter token reserves as its own "
    "address (`submitter` must be it) and updates only its own records; its change to a "
    "published DOI (or one approved and waiting) is held for an operator's approval (status "
    "update-review, `POST /doi/release`), never sent before. Answers 200 with the records "
    "as 0.2's `doi_record`s.",
)
async def post_dois(
    request: Request,
    caller: Annotated[Caller, Depends(submitter)],
    action: Annotated[PostAction, Query(description="reserve, or update (draft: the same).")],
    submitter: Annotated[
        str, Query(description="The submitter's address; for submitter tokens, the token's.")
    ],
    node: Annotated[str, Query(description="Steward node id, e.g. img (any case).")],
    url: Annotated[
        str | None, Query(description="Fetch the record from here (a host of [api] url_hosts).")
    ] = None,
    force: Annotated[
        bool,
        Query(
            description="Reserve despite a title used elsewhere; drop an ORCID with a wrong "
            "check digit from its person (each a warning in the record's message)."
        ),
    ] = False,
) -> list[schemas.DoiRecord]:
    address, node = _required("submitter", submitter), _required("node", node)
    data = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    app = app_of(request)
    return await run_in_threadpool(
        _post, app, caller, action, address, _node(app, node), url, force, data, kind
    )


def _post(
    app: App,
    caller: Caller,
    action: PostAction,
    submitter: str,
    node: str,
    url: str | None,
    force: bool,
    data: bytes,
    kind: str,
) -> list[schemas.DoiRecord]:
    """Read the source and mark through the actions (in this worker thread: it reads files
    and the database); the actions decide what the token may do."""
    mark.check_node(app.nodes, node)
    most = app.config["api"]["max_records"]
    if url and data.strip():
        raise ApiError(400, "give the records as the body or as a url, not both")
    if url:
        limits = app.intake_options(node, most).limits
        source = urls.fetch(url, app.config["api"]["url_hosts"], limits)
    elif data.strip():
        source = Source(BODY, data, SUFFIXES.get(kind, ""))
    else:
        raise ApiError(400, "no records: send them as the body, or give a url")
    with opened(app):
        if action is PostAction.RESERVE:
            done = marking.reserve(
                app, caller.actor, source, node, submitter, force, max_records=most
            )
            log.info("api reserve", token=caller.name, records=len(done.new))
            views = [read.show(new.doi) for new in done.new]
            return schemas.details(views, "; ".join(done.warnings))
        caller.actor.submitter_for(submitter)  # a submitter token updates as itself
        updated = marking.update(app, caller.actor, None, source, node)
        log.info("api update", token=caller.name, doi=updated.doi, status=updated.status)
        return [schemas.detail(read.show(updated.doi))]
