"""Probes and metrics of ``organiser serve``, outside the API's base path: ``/healthz`` (the
process answers), ``/readyz`` (the database answers; never behind a token) and ``/metrics``
(Prometheus; behind a reader token unless ``[api] public_metrics = true``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from organiser.actions import metrics
from organiser.api.auth import reader
from organiser.api.deps import app_of, opened
from organiser.app import App
from organiser.errors import OrganiserError
from organiser.notify import prometheus


def install(outer: FastAPI, app: App) -> None:
    """Add ``/healthz``, ``/readyz`` and ``/metrics`` to ``outer`` (the application that
    mounts the API), ``/metrics`` behind a token unless ``[api] public_metrics``."""
    router = APIRouter(include_in_schema=False)
    guard: list[Any] = [] if app.config["api"]["public_metrics"] else [Depends(reader)]
    router.add_api_route("/healthz", healthz, methods=["GET"])
    router.add_api_route("/readyz", readyz, methods=["GET"])
    router.add_api_route("/metrics", metrics_text, methods=["GET"], dependencies=guard)
    outer.include_router(router)


async def healthz() -> JSONResponse:
    """The process answers: 200 ``{"status": "ok"}``, touching nothing else."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 ``{"status": "ready", "checks": {...}}`` when every check passes, else 503
    ``{"status": "not ready", ...}`` with the failed check's one-line reason (no secret)."""
    checks = await run_in_threadpool(_checks, app_of(request))
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics_text(request: Request) -> Response:
    """The Prometheus exposition of the organiser's figures (``organiser_database_up 0``
    and the build alone when the database does not answer)."""
    body = await run_in_threadpool(_exposition, app_of(request))
    return Response(body, media_type=prometheus.CONTENT_TYPE)


def _checks(app: App) -> dict[str, str]:
    try:
        with opened(app):
            return metrics.readiness(app)
    except OrganiserError as exc:  # the connection itself failed (its text has no password)
        return {"database": str(exc)}


def _exposition(app: App) -> bytes:
    try:
        with opened(app):
            return prometheus.render(metrics.gather(app))
    except OrganiserError:  # no connection: say so rather than fail the scrape
        return prometheus.render(metrics.down())
