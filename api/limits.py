"""A cap on request bodies, whether they announce their length or arrive in chunks."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body passed the limit; answered 413."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than {_size(limit)}")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} kB"


class BodySizeLimit:
    """Refuse a body over ``limit`` bytes: at once from its Content-Length, or, for a chunked
    body, as soon as the bytes read pass the limit (nothing is parsed or written by then)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _refuse(send, BodyTooLarge(self.limit))
            return
        received, refused = 0, False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit and not refused:
                    # Answer now, then tell the app the client left: it stops reading, and
                    # whatever it tries to answer is dropped below.
                    refused = True
                    await _refuse(send, BodyTooLarge(self.limit))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    from api.errors import error_body  # the one error shape

    body, headers = error_body(413, str(error))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
