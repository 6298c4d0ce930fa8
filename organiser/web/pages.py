"""The web UI's pages that only read: dashboard, search and list (with a CSV export), one
record, and the review queue. Each calls the same actions as the command line and the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from organiser.actions import dashboard as board
from organiser.actions import records as read
from organiser.actions.cells import cell
from organiser.actions.recordpage import doi_of, record_page, review_queue
from organiser.api.deps import app_of
from organiser.domain.states import State
from organiser.errors import UserError
from organiser.web.common import db, page, signed_in

router = APIRouter()
#: Records a page of the list shows.
PAGE_SIZE = 50
#: The filters of ``organiser list`` and ``GET /dois``, as the search form names them.
MULTI = ("status", "node", "submitter", "ids", "doi", "account")
CSV_COLUMNS = (
    "doi",
    "identifier",
    "title",
    "status",
    "remote_state",
    "url",
    "node",
    "submitter",
    "attempts",
    "last_error",
    "next_attempt_at",
    "updated_at",
)


class SearchError(UserError):
    """A search field cannot be used; the message names it."""


def _day(name: str, value: str | None) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise SearchError(f"{name} {value!r}: not a date (YYYY-MM-DD)") from None


def _split(values: list[str]) -> tuple[str, ...]:
    """Give the values of a repeated field, each also split at commas and white space."""
    return tuple(v for value in values for v in value.replace(",", " ").split() if v)


def search_filter(request: Request) -> tuple[read.RecordFilter, dict[str, str]]:
    """Give the :class:`RecordFilter` of the search form's fields in ``request``'s query,
    and the fields as typed (to fill the form in again). Raises :class:`SearchError`."""
    query = request.query_params
    typed = {name: " ".join(query.getlist(name)) for name in MULTI}
    for name in ("title", "since", "until"):
        typed[name] = query.get(name, "")
    values: dict[str, object] = {
        "statuses": _split(query.getlist("status")),
        "nodes": _split(query.getlist("node")),
        "submitters": _split(query.getlist("submitter")),
        "ids": _split(query.getlist("ids")),
        "dois": _split(query.getlist("doi")),
        "title": typed["title"].strip() or None,
        "since": _day("since", typed["since"]),
        "until": _day("until", typed["until"]),
    }
    values["accounts"] = _split(query.getlist("account"))
    return read.RecordFilter(**values), typed  # type: ignore[arg-type]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request)
        shown = board.dashboard(app, app.clock().replace(tzinfo=None))
    return page(request, "dashboard.html", signed, board=shown, title="Dashboard")


@router.get("/records", response_class=HTMLResponse)
def records(request: Request, cursor: Annotated[str | None, Query()] = None) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request)
        error, found, typed, more = None, [], {}, None
        try:
            filters, typed = search_filter(request)
            read.check_accounts(filters.accounts, {a.name for a in app.accounts.all})
            found = read.listing(filters, PAGE_SIZE + 1, read.after_of(cursor))
        except UserError as exc:
            error = str(exc)
        if len(found) > PAGE_SIZE:
            found = found[:PAGE_SIZE]
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            params.append(("cursor", read.cursor_of(found[-1].id)))
            more = "&".join(f"{k}={_quote(v)}" for k, v in params)
    query = "&".join(
        f"{k}={_quote(v)}" for k, v in request.query_params.multi_items() if k != "cursor"
    )
    return page(
        request,
        "records.html",
        signed,
        400 if error else 200,
        title="Records",
        found=found,
        typed=typed,
        error=error,
        more=more,
        query=query,
        statuses=[s.value for s in State],
        nodes=sorted(app.nodes),
        searched=bool(query),
    )


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@router.get("/records.csv")
def export(request: Request) -> Response:
    with db(request):
        signed_in(request)
        filters, _ = search_filter(request)
        # the first batch before the answer starts: a filter or query that fails is an
        # error page, not a download cut short
        first = read.listing(filters, read.STREAM_BATCH, 0)

    def rows() -> Iterator[str]:
        # a batch per step, each with a connection of its own: the steps of a streamed
        # answer may run on different threads
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        batch = first
        while True:
            for record in batch:
                writer.writerow([cell(getattr(record, column)) for column in CSV_COLUMNS])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(batch) < read.STREAM_BATCH:
                return
            with db(request):
                batch = read.listing(filters, read.STREAM_BATCH, batch[-1].id)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="records.csv"'},
    )


@router.get("/records/{ref:path}", response_class=HTMLResponse)
def record(request: Request, ref: str) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request)
        shown = record_page(
            app, doi_of(int(ref)) if ref.isascii() and ref.isdigit() and len(ref) <= 19 else ref
        )
    return page(request, "record.html", signed, shown=shown, title=shown.view.record.doi)


@router.get("/review", response_class=HTMLResponse)
def review(request: Request) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request)
        total, queue = review_queue(app)
    return page(request, "review.html", signed, total=total, queue=queue, title="Review")
