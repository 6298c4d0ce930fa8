"""The OpenAPI document and Swagger UI, served by the process itself: the Swagger UI assets
come from a Python package (``fastapi-offline``'s copy of swagger-ui-dist), never from a CDN,
so the page works on a machine without internet. Both are public: they describe the API and
hold no record."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the UI is, below the API's base path.
UI_PATH = "/ui/"
ASSETS_PATH = "/ui/assets"


def assets() -> Path:
    """Give the folder with ``swagger-ui-bundle.js``, ``swagger-ui.css`` and ``favicon.png``."""
    return Path(str(files("fastapi_offline") / "static"))


def install(api: FastAPI) -> None:
    """Serve Swagger UI at ``{base}/ui/`` with its assets from :func:`assets`."""
    api.mount(ASSETS_PATH, StaticFiles(directory=assets()), name="swagger-assets")

    @api.get(UI_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{api.openapi_url}",
            title=f"{api.title} {api.version}",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # no badge from validator.swagger.io: the page makes no request elsewhere
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )
