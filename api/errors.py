"""One error shape everywhere: ``{"detail": ..., "errors"?: [{"path", "message"}]}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.engine import NotReady
from api.schemas import READS_ONLY_KEY
from graph.database import DatabaseBusy, DatabaseUnavailable, StorageFull
from graph.introductions import Conflict, IntroductionNotFound
from graph.invitations import InvitationNotFound
from graph.members import MemberNotFound
from graph.projects import ProjectNotFound
from graph.store import ImportMismatch, NetworkNotFound
from graph.tokens import TokenMemberGone
from graph.validation import DocumentForbidden, DocumentInvalid, brief, json_path
from matching.workflow import TransitionError

log = logging.getLogger("partnermatch.api")


def error(status_code: int, detail: str, errors: list[dict] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status_code, headers=headers)


def error_body(status_code: int, detail: str, headers: dict[str, str] | None = None
               ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The same error as raw ASGI body and headers, for middleware below the app."""
    response = error(status_code, detail, headers=headers)
    return response.body, response.raw_headers


def _request_problem(e: dict) -> dict[str, str]:
    loc = list(e.get("loc", ()))
    if loc and loc[0] == "body":
        loc = loc[1:]
    path = json_path(loc) if loc else "body"
    message = e.get("msg", "invalid")
    if e.get("type") == "json_invalid":
        message = f"malformed JSON: {e.get('ctx', {}).get('error', message)}"
    elif e.get("type") == "missing":
        message = "is required but missing"
    elif "input" in e and not isinstance(e["input"], (dict, list)):
        message += f" (got {brief(e['input'])})"
    return {"path": path, "message": message}


def _writes(request: Request) -> bool:
    """Whether the request asks for a change: a GET, a HEAD or a POST that only computes an
    answer (``api.schemas.READS_ONLY``) writes nothing, so no refusal of it may say that
    nothing was."""
    if request.method in ("GET", "HEAD"):
        return False
    route = request.scope.get("route")
    return not (getattr(route, "openapi_extra", None) or {}).get(READS_ONLY_KEY, False)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(status.HTTP_422_UNPROCESSABLE_CONTENT, "the request is invalid",
                     [_request_problem(e) for e in exc.errors()])

    @app.exception_handler(DocumentInvalid)
    async def document_invalid(request: Request, exc: DocumentInvalid) -> JSONResponse:
        found = f"{len(exc.problems)} problem(s) found"
        return error(status.HTTP_422_UNPROCESSABLE_CONTENT,
                     f"{found}; nothing was written" if _writes(request) else
                     f"{found} in the request", exc.as_errors())

    @app.exception_handler(DocumentForbidden)
    async def document_forbidden(request: Request, exc: DocumentForbidden) -> JSONResponse:
        return error(status.HTTP_403_FORBIDDEN,
                     f"{len(exc.problems)} change(s) this token may not make; nothing was written",
                     exc.as_errors())

    @app.exception_handler(NetworkNotFound)
    async def network_not_found(request: Request, exc: NetworkNotFound) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no network {exc.args[0]!r}")

    @app.exception_handler(MemberNotFound)
    async def member_not_found(request: Request, exc: MemberNotFound) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no member {exc.args[0]!r} in this network")

    @app.exception_handler(IntroductionNotFound)
    async def introduction_not_found(request: Request, exc: IntroductionNotFound) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no introduction {exc.args[0]!r} in this network")

    @app.exception_handler(InvitationNotFound)
    async def invitation_not_found(request: Request, exc: InvitationNotFound) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no invitation {exc.args[0]!r} in this network")

    @app.exception_handler(TokenMemberGone)
    async def token_member_gone(request: Request, exc: TokenMemberGone) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no member {exc.args[0]!r} in this network")

    @app.exception_handler(ProjectNotFound)
    async def project_not_found(request: Request, exc: ProjectNotFound) -> JSONResponse:
        return error(status.HTTP_404_NOT_FOUND, f"no project {exc.args[0]!r} in this network")

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return error(status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(TransitionError)
    async def transition_refused(request: Request, exc: TransitionError) -> JSONResponse:
        code = status.HTTP_403_FORBIDDEN if exc.forbidden else status.HTTP_409_CONFLICT
        return error(code, str(exc))

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> JSONResponse:
        response = error(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(DatabaseUnavailable)
    async def database_down(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        detail = ("the graph database is busy with conflicting writes; nothing was written"
                  if isinstance(exc, DatabaseBusy) else "the graph database is unavailable")
        return error(status.HTTP_503_SERVICE_UNAVAILABLE, f"{detail}; try again shortly",
                     headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ImportMismatch)
    async def import_mismatch(request: Request, exc: ImportMismatch) -> JSONResponse:
        log.error("%s", exc)
        return error(status.HTTP_503_SERVICE_UNAVAILABLE,
                     f"{exc}; the database did not store the document exactly, nothing was "
                     "written", headers={"Retry-After": "1"})

    @app.exception_handler(StorageFull)
    async def storage_full(request: Request, exc: StorageFull) -> JSONResponse:
        return error(status.HTTP_507_INSUFFICIENT_STORAGE,
                     "the graph database's disk is full: nothing was written; reading still "
                     "works, writing again once an operator frees space",
                     headers={"Retry-After": "60"})

    # Not an exception handler: Starlette answers those from its outermost middleware and then
    # re-raises, so the server logs the error a second time and drops the keep-alive connection.
    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """Answer any unhandled exception with one logged 500 in the error shape, keeping the
    connection usable."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:  # the client left, or the gate refused its body and answered
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # half an answer is out: the server can only close the connection
                return
            response = error(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error")
            await response(scope, receive, send)
