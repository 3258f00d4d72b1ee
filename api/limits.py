"""The gate in front of every route: the token first, then a body of bounded size.

For a route that needs a token (one whose dependencies include ``get_principal``), the token is
checked before a byte of the body is read, so a request without a valid one is refused without
its body ever being parsed; so are the route's guards (who may send it a body at all,
``api.deps.MANAGERS`` and the like), so a caller without the right gets 403 whatever it sends.
Bodies are capped per route: routes marked ``@large_body`` (network imports) accept up to the configured limit, every
other route 1 MB; a body over the cap is refused at once from its Content-Length, or, when it
arrives in chunks, as soon as the bytes read pass the cap (nothing is parsed or written by then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import get_principal
from api.security import Principal
from graph.database import DatabaseUnavailable

SMALL_BODY = 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])
Guard = Callable[[Principal, str], None]


def large_body(endpoint: F) -> F:
    """Mark a route function as accepting bodies up to the large limit (a whole network)."""
    endpoint.__large_body__ = True  # type: ignore[attr-defined]
    return endpoint


class BodyTooLarge(Exception):
    """The request body passed the limit; answered 413."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than {_size(limit)}")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} kB"


def _uses_principal(dependant: Dependant) -> bool:
    return dependant.call is get_principal or any(
        _uses_principal(d) for d in dependant.dependencies)


class RequestGate:
    """Check the token (for routes that need one) and cap the body, per route.

    Both happen when the route first asks for its body: routing is done by then (the route is
    in the scope), and not a byte has been read. A refusal is answered at once; the route is
    told the client left, and whatever it answers after that is dropped."""

    def __init__(self, app: ASGIApp, limit: int, small_limit: int = SMALL_BODY):
        self.app = app
        self.limit = limit
        self.small_limit = min(small_limit, limit)
        # id(route) -> (limit, needs a token, its guards)
        self._rules_of: dict[int, tuple[int, bool, list[Guard]]] = {}

    def _rules(self, route: Any) -> tuple[int, bool, list[Guard]]:
        if route is None:
            return self.small_limit, False, []
        if id(route) not in self._rules_of:
            large = getattr(getattr(route, "endpoint", None), "__large_body__", False)
            needs = isinstance(route, APIRoute) and _uses_principal(route.dependant)
            guards = [d.call.__guard__ for d in route.dependant.dependencies
                      if hasattr(d.call, "__guard__")] if needs else []
            self._rules_of[id(route)] = (self.limit if large else self.small_limit, needs, guards)
        return self._rules_of[id(route)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checked, refused, received, limit = False, False, 0, self.small_limit

        async def refuse(status: int, detail: str, headers: dict[str, str] | None = None
                         ) -> Message:
            nonlocal refused
            refused = True
            await _refuse(send, status, detail, headers)
            return {"type": "http.disconnect"}

        async def gated_receive() -> Message:
            nonlocal checked, received, limit
            if refused:
                return {"type": "http.disconnect"}
            if not checked:
                checked = True
                limit, needs_token, guards = self._rules(scope.get("route"))
                if needs_token:
                    failure = await self._authenticate(scope, guards)
                    if failure is not None:
                        return await refuse(*failure)
                length = dict(scope.get("headers") or []).get(b"content-length")
                if length is not None and (not length.isdigit() or int(length) > limit):
                    return await refuse(413, str(BodyTooLarge(limit)))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return await refuse(413, str(BodyTooLarge(limit)))
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, gated_receive, guarded_send)

    async def _authenticate(self, scope: Scope, guards: list[Guard]
                            ) -> tuple[int, str, dict[str, str] | None] | None:
        """Resolve the bearer token as the route's dependency would and keep the principal for
        it (``request.state.principal``: the secret and its principal, which ``get_principal``
        reuses), then run the route's guards; the refusal (status, detail, headers) when there is
        no principal or a guard refuses it."""
        request = Request(scope)
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        credentials = (HTTPAuthorizationCredentials(scheme=scheme, credentials=secret.strip())
                       if scheme and secret.strip() else None)
        try:
            principal = await run_in_threadpool(get_principal, request, scope["app"].state.db,
                                                credentials)
        except HTTPException as exc:
            return exc.status_code, str(exc.detail), exc.headers
        except DatabaseUnavailable:
            return 503, "the graph database is unavailable", None
        request.state.principal = (credentials.credentials if credentials else None, principal)
        nid = (scope.get("path_params") or {}).get("nid", "")
        try:
            for check in guards:
                check(principal, nid)
        except HTTPException as exc:
            return exc.status_code, str(exc.detail), exc.headers
        return None


async def _refuse(send: Send, status: int, detail: str,
                  headers: dict[str, str] | None = None) -> None:
    from api.errors import error_body  # the one error shape

    body, raw_headers = error_body(status, detail, headers)
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
