"""A write's own process catches up right after answering it.

Every request checks the network's version and applies what changed since its matcher's
(``api.engine``); without this, the first request after a write pays that catch-up. A write that
succeeded through this process schedules it on a background thread as soon as its answer is
sent, so the writer's next request, and everyone else's, finds the matcher current. Other
processes still catch up on their own next request.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NETWORK_PATH = re.compile(r"^/(?:networks|n)/([^/]+)/")  # the API's and the pages' routes


class CatchUpAfterWrites:
    """After a successful write under a network's routes, catch its matcher up off the request
    path (``Engine.catch_up_soon``)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        match = _NETWORK_PATH.match(scope["path"])
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, noting_status)
        if match and status < 400:  # a redirect after a form's post counts as success
            state = scope["app"].state
            db = getattr(state, "db", None)
            if db is not None:
                state.matchers.catch_up_soon(db, unquote(match.group(1)))
