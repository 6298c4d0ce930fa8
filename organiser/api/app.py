"""The application factory: the 0.2 API under its base path, with its errors, its body limit
and its documentation."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp

from organiser import __version__
from organiser.api import BASE_PATH, docs, errors
from organiser.api.limits import BodyLimit
from organiser.api.routes import check, doi, dois
from organiser.app import App

TITLE = "Planetary Data System DOI Service API"
DESCRIPTION = (
    "The PDS DOI Service API 0.2, served by organiser "
    f"{__version__}. It only marks and reads records in organiser's database; organiser's "
    "passes talk to DataCite. Every operation needs `Authorization: Bearer TOKEN` (a token "
    "from `organiser token add`): readers list and read, submitters also reserve, update and "
    "submit, operators also release and reject."
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

    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    outer.state.organiser = app
    errors.install(outer)

    @outer.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{BASE_PATH}{docs.UI_PATH}")

    outer.mount(BASE_PATH, api)
    return BodyLimit(outer, app.config["api"]["max_body_bytes"])
