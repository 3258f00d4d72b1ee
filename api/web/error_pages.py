"""Refusals as pages for people: a browser that asks for HTML on a web path gets the error page
(in its language, with the same status and headers), never the API's raw JSON.

Whatever refuses (the body-size gate's 413, routing's 404 and 405, a route's 4xx, the 503 of a
busy database) answers in the API's one error shape; this middleware, just outside them, turns
that answer into the page. The page says only what the JSON said, so it shows nothing more.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.i18n import gettext as _
from api.web.render import error_page

API_PREFIXES = ("/networks", "/tokens", "/invitations", "/health", "/openapi.json")
KEPT_HEADERS = {b"retry-after", b"allow", b"www-authenticate", b"set-cookie"}


def wants_page(scope: Scope) -> bool:
    """A browser's request (it accepts HTML) for a path outside the API."""
    path = scope.get("path", "")
    if any(path == p or path.startswith(p + "/") for p in API_PREFIXES):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")


def _message(status: int, detail: str) -> str:
    """What to tell a person, for the refusals whose API wording is meant for programs."""
    if status == 404 and detail == "Not Found":
        return _("There is no page at this address. Check it, or start again from your home "
                 "page.")
    if status == 405:
        return _("This address cannot be opened this way. Go back to the page you were on and "
                 "send the form again.")
    if status == 413:
        return _("What you sent is too large to be accepted. Go back, shorten the longest text "
                 "and send it again.")
    if status == 422 and detail == "the request is invalid":
        return _("The address has a value that is not valid here.")
    return detail


class HtmlErrors:
    """Replace a JSON error answer to a browser's page request by the HTML error page."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not wants_page(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def as_page(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers") or [])
                if message["status"] >= 400 and \
                        headers.get("content-type", "").startswith("application/json"):
                    start = message  # held until the whole body is here
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                await self._send_page(scope, send, start, b"".join(chunks))
                return
            await send(message)

        await self.app(scope, receive, as_page)

    @staticmethod
    async def _send_page(scope: Scope, send: Send, start: Message, body: bytes) -> None:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {}
        status = start["status"]
        detail = str(answer.get("detail", "")) if isinstance(answer, dict) else ""
        problems = answer.get("errors") if isinstance(answer, dict) else None
        shown = error_page(Request(scope), status, _message(status, detail),
                           problems=problems if isinstance(problems, list) else None)
        kept = [(k, v) for k, v in start.get("headers") or [] if k.lower() in KEPT_HEADERS]
        await send({"type": "http.response.start", "status": status,
                    "headers": [*kept, *((k, v) for k, v in shown.raw_headers
                                         if k.lower() != b"set-cookie")]})
        await send({"type": "http.response.body", "body": shown.body})
