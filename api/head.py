"""``HEAD`` answered like ``GET``, without the body (RFC 9110 §9.3.2).

FastAPI routes declared with ``@router.get`` answer only GET, so uptime probes and link checkers
that send HEAD to a page or to ``/health`` got 405. Every route then runs as for GET: same
status, same headers (``Content-Length`` of the body it would send), no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Run a HEAD request as a GET and drop the body of the answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
