"""The FastAPI application: composition root of partnermatch's HTTP service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api import errors, memory
from api.analyses import Analyses
from api.engine import Engine
from api.export_jobs import ExportJobs
from api.head import HeadAsGet
from api.headers import SecurityHeaders
from api.limits import RequestGate
from api.routers import (
    collaboration,
    health,
    invitations,
    members,
    networks,
    opportunities,
    pictures,
    playbook,
    rivalries,
    suggestions,
    tokens,
)
from api.settings import ApiSettings
from api.throttle import FailureThrottle
from api.web import router as web_router
from api.web.error_pages import HtmlErrors
from api.web.i18n import LanguageMiddleware
from api.web.session_store import SessionStore
from graph.database import Database, open_database
from graph.tokens import digest

DESCRIPTION = """
partnermatch helps networks of small firms cooperate: a facilitator's instrument for complementary
partners, shared purchases, shared services and cross-training.

Every endpoint but `/health` needs `Authorization: Bearer <token>`. Errors have one shape:
`{"detail": ..., "errors"?: [{"path", "message"}]}`.
"""


def create_app(settings: ApiSettings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app; with ``database`` given (serve, tests) it is used, else one is opened."""
    settings = settings or ApiSettings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            db = database if database is not None else stack.enter_context(open_database())
            app.state.db = db
            memory.tune()  # once per process: what the imports left is frozen (api/memory.py)
            app.state.matchers.follow(db)  # this process's writes reach its matchers directly
            if settings.warm_start:
                app.state.matchers.warm(db)  # background: requests are served meanwhile
            try:
                yield
            finally:
                # Their background work ends before the database closes (leaving the block):
                # the analyses first, as they read through the matchers.
                app.state.analyses.close()
                app.state.export_jobs.close()
                app.state.matchers.close()

    # /docs is served by the web pages from the package's copy of Swagger UI (no CDN);
    # ReDoc would load from a CDN, so it is not offered.
    app = FastAPI(title="partnermatch", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.admin_digest = digest(settings.admin_token) if settings.admin_token else None
    app.state.matchers = Engine(first_fit_wait=settings.first_fit_wait)
    app.state.analyses = Analyses(app.state.matchers)  # copies of the live matchers
    app.state.export_jobs = ExportJobs()
    app.state.auth_throttle = FailureThrottle(limit=settings.auth_failures_per_minute)
    app.state.sessions = SessionStore(lambda: app.state.db)
    if database is not None:
        app.state.db = database

    app.add_middleware(RequestGate, limit=settings.max_body_bytes)
    app.add_middleware(HtmlErrors)  # a browser's refused page request gets a page, not JSON
    app.add_middleware(HeadAsGet)  # HEAD runs every GET route, the gate and checks included
    app.add_middleware(SecurityHeaders)  # on every answer, refusals included
    app.add_middleware(LanguageMiddleware)  # outermost: every answer knows its language

    errors.install(app)
    for router in (health.router, tokens.router, invitations.router, networks.router,
                   members.router, suggestions.router, opportunities.router,
                   collaboration.router, playbook.router, rivalries.router,
                   pictures.router, web_router):
        app.include_router(router)
    _document_common_answers(app)
    return app


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
COMMON_ANSWERS = {
    # FastAPI answers it before the route runs, to bytes that are not JSON (or not UTF-8).
    "400": ("requestBody", "The body is not JSON, or not UTF-8"),
    # The failed-authentication throttle answers it before the route runs (with Retry-After).
    "429": ("security", "Too many failed authentications from this address; see Retry-After"),
    # The database is restarting, or concurrent writes kept conflicting (with Retry-After).
    "503": ("security", "The database is unavailable or busy; see Retry-After"),
}


def _document_common_answers(app: FastAPI) -> None:
    """List in the OpenAPI document the answers that no route declares because they come from
    around the routes: 400 for an unparsable body, 429 and 503 with ``Retry-After``."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = build()
            for item in spec.get("paths", {}).values():
                for operation in item.values():
                    if not isinstance(operation, dict):
                        continue
                    responses = operation.setdefault("responses", {})
                    for code, (needs, text) in COMMON_ANSWERS.items():
                        if needs in operation:
                            responses.setdefault(code, {"description": text, "content": _ERROR})
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
