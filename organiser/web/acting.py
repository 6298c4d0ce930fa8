"""The web UI's forms: sign-in and sign-out, approve and reject, reserve from an uploaded
file, update, submit, retry now and delete. Each form carries the session's CSRF token and
calls the same action as the command line and the API (which enforce the roles); a refused
action shows its one-line messages beside the field they concern and writes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import PurePath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from organiser.actions import marking, rejection, retrying, review, signin
from organiser.actions.access import Actor, Forbidden, Role, require
from organiser.actions.recordpage import doi_of
from organiser.actions.records import find
from organiser.actions.views import RecordSummary
from organiser.api.deps import app_of
from organiser.app import App
from organiser.errors import UserError
from organiser.intake.sources import Source
from organiser.web.common import PREFIX, db, local, log, page, secure, see, sessions, signed_in

router = APIRouter()
PRE = "organiser_ui_signin"  # the sign-in form's CSRF cookie (double submit: no session yet)
#: What DataCite does when a record in this DataCite state is deleted.
DELETE_EFFECT = {
    None: "Nothing was sent to DataCite: the record is only marked deleted here.",
    "draft": "DataCite deletes the draft DOI: it will no longer exist.",
    "registered": "The DOI is already hidden at DataCite (registered); it stays resolvable.",
    "findable": "A findable DOI cannot be deleted: DataCite hides it (registered). It still "
    "resolves to its landing page but is no longer listed or found in DataCite's search.",
}


def _done(target: str, message: str) -> Response:
    return see(f"{target}{'&' if '?' in target else '?'}done={quote(message)}")


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "") -> Response:
    nonce = secrets.token_urlsafe(24)
    response = page(request, "signin.html", None, title="Sign in", back=local(next), nonce=nonce)
    response.set_cookie(
        PRE,
        nonce,
        max_age=3600,
        path=f"{PREFIX}/signin",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.post("/signin", response_class=HTMLResponse)
def signin_post(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(PRE, "")
    back = local(next)
    if not expected or not secrets.compare_digest(expected.encode(), csrf.encode()):
        return page(
            request,
            "signin.html",
            None,
            403,
            title="Sign in",
            back=back,
            nonce=expected,
            error="the form's CSRF token is missing or wrong: reload the page and retry",
        )
    with db(request):
        found = signin.sign_in(token)
    client = request.client.host if request.client else None
    if found is None:
        log.warning("ui sign-in refused", client=client)  # never the token
        error = "token: unknown or revoked (make one with organiser token add)"
        if not token.strip():
            error = "token: required (an API token, from organiser token add)"
        return page(
            request,
            "signin.html",
            None,
            401,
            title="Sign in",
            back=back,
            nonce=expected,
            error=error,
        )
    log.info("ui sign-in", token=found.name, role=found.role, client=client)
    response = see(back)
    sessions(request).issue(response, found.name, secure(request))
    response.delete_cookie(PRE, path=f"{PREFIX}/signin")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    with db(request):
        signed = signed_in(request, csrf, posted=True)
    response = see(f"{PREFIX}/signin")
    sessions(request).end(response, secure(request), signed.session)
    return response


@router.post("/review/{record_id}/approve")
def approve(request: Request, record_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request, csrf, posted=True)
        (done,) = review.release(app, signed.actor, [doi_of(record_id)])
    return _done(f"{PREFIX}/review", f"{done.doi} approved: {done.status}")


@router.post("/review/{record_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    record_id: int,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    from organiser.actions.recordpage import review_queue

    app = app_of(request)
    with db(request):
        signed = signed_in(request, csrf, posted=True)
        require(signed.actor, Role.OPERATOR)
        try:
            text = review.clean_reason(reason)
        except UserError as exc:
            total, queue = review_queue(app)
            errors = {record_id: str(exc).replace("(--reason TEXT)", "").strip()}
            return page(
                request,
                "review.html",
                signed,
                400,
                title="Review",
                total=total,
                queue=queue,
                errors=errors,
            )
        done = review.reject(app, signed.actor, [doi_of(record_id)], text)
    warnings = rejection.mail_submitters(app, done, text, signed.actor.name)
    message = f"{done[0].doi} sent back: {done[0].status}"
    if done[0].submitter and not warnings:
        message += f"; {done[0].submitter} was mailed the reason"
    return _done(f"{PREFIX}/review", "; ".join([message, *warnings]))


@router.get("/reserve", response_class=HTMLResponse)
def reserve_form(request: Request) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request)
        require(signed.actor, Role.SUBMITTER)
    return page(request, "reserve.html", signed, title="Reserve", nodes=sorted(app.nodes))


def _source(upload: UploadFile | None, field: str, limit: int) -> Source:
    """Give the uploaded file as a source for intake. Raises ``UserError`` naming
    ``field``."""
    if upload is None or not upload.filename:
        raise UserError(f"{field}: choose a file (PDS4 label, spreadsheet or DataCite JSON)")
    name = PurePath(upload.filename).name
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{field}: {name} is larger than {limit} bytes")
    return Source(name, data, PurePath(name).suffix.lower())


@router.post("/reserve", response_class=HTMLResponse)
def reserve(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    node: Annotated[str, Form()] = "",
    force: Annotated[bool, Form()] = False,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    app = app_of(request)
    with db(request):
        signed = signed_in(request, csrf, posted=True)
        require(signed.actor, Role.SUBMITTER)
        limit = int(app.config["api"]["max_body_bytes"])
        try:
            source = _source(file, "file", limit)
            done = marking.reserve(
                app,
                signed.actor,
                source,
                node or None,
                None,
                force,
                max_records=app.config["api"]["max_records"],
            )
        except Forbidden:
            raise
        except UserError as exc:
            return page(
                request,
                "reserve.html",
                signed,
                400,
                title="Reserve",
                nodes=sorted(app.nodes),
                errors=str(exc).splitlines(),
                node=node,
            )
    return page(request, "reserved.html", signed, 201, title="Reserved", done=done)


def _record_target(record_id: int) -> str:
    return f"{PREFIX}/records/{record_id}"


def _act(
    request: Request, record_id: int, csrf: str, act: Callable[[App, Actor, str], RecordSummary]
) -> RecordSummary:
    """Check the session and its CSRF token, then give what ``act`` (an action called with
    the app, the signed-in actor and the record's DOI) gives. Raises as the action does."""
    with db(request):
        signed = signed_in(request, csrf, posted=True)
        return act(app_of(request), signed.actor, doi_of(record_id))


@router.post("/records/{record_id}/submit")
def submit(request: Request, record_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    done = _act(request, record_id, csrf, lambda app, who, doi: review.submit(app, who, [doi])[0])
    return _done(_record_target(record_id), f"{done.doi} submitted: {done.status}")


@router.post("/records/{record_id}/retry")
def retry(request: Request, record_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    done = _act(request, record_id, csrf, retrying.retry_now)
    return _done(_record_target(record_id), f"{done.doi} is due now: the next pass tries it")


@router.post("/records/{record_id}/update", response_class=HTMLResponse)
def update(
    request: Request,
    record_id: int,
    csrf: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    from organiser.actions.recordpage import record_page

    app = app_of(request)
    with db(request):
        signed = signed_in(request, csrf, posted=True)
        require(signed.actor, Role.SUBMITTER)
        doi = doi_of(record_id)
        try:
            source = _source(file, "file", int(app.config["api"]["max_body_bytes"]))
            done = marking.update(app, signed.actor, doi, source, None)
        except Forbidden:
            raise
        except UserError as exc:
            shown = record_page(app, doi)
            return page(
                request,
                "record.html",
                signed,
                400,
                shown=shown,
                title=doi,
                update_errors=str(exc).splitlines(),
            )
    return _done(_record_target(record_id), f"{done.doi} updated: {done.status}")


@router.get("/records/{record_id}/delete", response_class=HTMLResponse)
def delete_form(request: Request, record_id: int) -> Response:
    with db(request):
        signed = signed_in(request)
        require(signed.actor, Role.OPERATOR)
        record = find(doi_of(record_id))
    effect = DELETE_EFFECT.get(record.remote_state, DELETE_EFFECT["findable"])
    return page(
        request, "delete.html", signed, title=f"Delete {record.doi}", record=record, effect=effect
    )


@router.post("/records/{record_id}/delete")
def delete(request: Request, record_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    done = _act(request, record_id, csrf, lambda app, who, doi: marking.delete(app, who, [doi])[0])
    return _done(_record_target(record_id), f"{done.doi} marked for deletion: {done.status}")
