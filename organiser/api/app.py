"""The application factory: the 0.2 API under its base path, with its errors, its body limit
and its documentation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp

from organiser import __version__
from organiser.api import BASE_PATH, docs, errors, schemas
from organiser.api.limits import BodyLimit, FetchGate
from organiser.api.routes import check, doi, dois, health
from organiser.app import App

TITLE = "Planetary Data System DOI Service API"
DESCRIPTION = (
    "The PDS DOI Service API 0.2, served by organiser "
    f"{__version__}. It only marks and reads records in organiser's database; organiser's "
    "passes talk to DataCite. Every operation needs `Authorization: Bearer TOKEN` (a token "
    "from `organiser token add`; with `[api] public_reads = true` the reads need none): "
    "readers list and read, submitters also reserve, update and submit, operators also "
    "release and reject. `status` is the PDS DOI Service's workflow status (draft, review, "
    "pending, findable, deactivated); `organiser_status` is organiser's own."
)


def create_app(app: App) -> ASGIApp:
    """Give the ASGI application for ``app``'s configuration and database (opened by the
    caller: :func:`organiser.api.server.serve` opens and upgrades it first)."""
    api = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.2",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_tags=[{"name": "dois", "description": "DOI records: list, reserve, submit"}],
    )
    api.state.organiser = app
    errors.install(api)
    for module in (check, dois, doi):  # /dois/check before /dois
        api.include_router(module.router)
    docs.install(api)
    api.openapi = _document(api)  # type: ignore[method-assign]

    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    outer.state.organiser = app
    errors.install(outer)
    health.install(outer, app)  # /healthz, /readyz, /metrics: outside the base path

    @outer.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{BASE_PATH}{docs.UI_PATH}")

    outer.mount(BASE_PATH, api)
    settings = app.config["api"]
    rest = BodyLimit(FetchGate(outer, settings["url_fetches"]), app, settings["max_body_bytes"])
    from organiser import web  # the web UI under /ui, beside the API's body limit

    return web.Beside(web.create(app), rest, settings["max_body_bytes"])


#: The 400 answer, as the OpenAPI document has it.
_INVALID = {
    "description": schemas.ERRORS[400],
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def _document(api: FastAPI) -> Callable[[], dict[str, Any]]:
    """Give ``api``'s OpenAPI document maker: FastAPI's, with the codes the server really
    answers: a validation error is a 400 (never FastAPI's 422) on every operation that has
    parameters or a body."""

    def document() -> dict[str, Any]:
        if api.openapi_schema is None:
            spec = FastAPI.openapi(api)
            for methods in spec.get("paths", {}).values():
                for operation in methods.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    if operation.get("parameters") or operation.get("requestBody"):
                        responses.setdefault("400", _INVALID)
            for unused in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(unused, None)
        return api.openapi_schema

    return document
