"""Who is signed in, and which form posts to believe.

The ``pm_session`` cookie holds a random server-side session id (``api.web.session_store``),
never the API token; the token behind it (kept as its hash) is checked on every request, so a
revoked token ends its sessions too. The cookie is HttpOnly, SameSite=Strict, has no expiry and
is Secure over https; sign-out deletes the session on the server.

Every POST form is refused when its ``Origin`` is ``null`` or another origin (a page on another
port of the same host is same-site: SameSite does not stop it), and unless it carries the CSRF
token of its session (``csrf`` field; every template form must have
``<input type="hidden" name="csrf" value="{{ csrf }}">``). The body of a form is not read before
its session is known to be valid.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import get_principal, principal_of_hash
from api.security import Principal, Role
from api.web.session_store import Session, SessionStore

COOKIE = "pm_session"
SIGNIN_COOKIE = "pm_signin"
MAX_FORM_BYTES = 256 * 1024


class NotSignedIn(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


def sessions(request: Request) -> SessionStore:
    return request.app.state.sessions


def principal_for(request: Request, token: str) -> Principal:
    """The principal behind a token, exactly as the API's bearer check finds it (401 if none)."""
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    return get_principal(request, request.app.state.db, credentials)


def current_principal(request: Request) -> Principal:
    """The signed-in principal; its session's CSRF token is left in ``request.state.csrf``."""
    sid = request.cookies.get(COOKIE)
    session = sessions(request).get(sid)
    if session is None:
        raise NotSignedIn
    principal = principal_of_hash(request, request.app.state.db, session.token_hash)
    if principal is None:
        sessions(request).close(sid)  # the token was revoked or expired since sign-in
        raise NotSignedIn
    request.state.csrf = session.csrf
    return principal


def remember(request: Request, response: Response, token: str) -> str:
    """Open a session for ``token`` (closing the browser's previous one) and set its cookie;
    the session's CSRF token, for a page shown in the same answer."""
    store = sessions(request)
    store.close(request.cookies.get(COOKIE))  # a fresh id at sign-in: no session fixation
    sid, session = store.open(token.strip())
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict")
    return session.csrf


def forget(request: Request, response: Response) -> None:
    """Close the browser's session on the server and delete its cookie."""
    sessions(request).close(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def signin_nonce(request: Request) -> str:
    """This browser's sign-in nonce (from its cookie, or a new one to set with
    ``keep_signin_nonce``); the form's CSRF token is ``signin_token(nonce)``."""
    return request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)


def keep_signin_nonce(request: Request, response: Response, nonce: str) -> None:
    if request.cookies.get(SIGNIN_COOKIE) != nonce:
        response.set_cookie(SIGNIN_COOKIE, nonce, httponly=True, samesite="strict",
                            path="/signin", secure=request.url.scheme == "https")


def home_of(principal: Principal) -> str:
    """Where each role lands after signing in."""
    nid = principal.network
    if principal.role is Role.MEMBER:
        return f"/n/{nid}/home/{principal.member}"
    if principal.role is Role.FACILITATOR:
        return f"/n/{nid}/dashboard"
    if principal.role is Role.ANALYST:
        return f"/n/{nid}/exports"
    return "/n"


def refuse_foreign_origin(request: Request) -> None:
    """403 for a post from another origin, an opaque one (``Origin: null``: sandboxed frames,
    data: pages) or, by Fetch Metadata, another site. No Origin at all: not a browser's form."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc != request.headers.get("host") \
                or parts.scheme != request.url.scheme:
            raise HTTPException(403, "this form was posted from another site")
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        raise HTTPException(403, "this form was posted from another site")


def _expected_csrf(request: Request) -> str | None:
    """The CSRF token this post must carry, or None when it has no valid session."""
    if request.url.path == "/signin":
        nonce = request.cookies.get(SIGNIN_COOKIE)
        return sessions(request).signin_token(nonce) if nonce else ""
    session: Session | None = sessions(request).get(request.cookies.get(COOKIE))
    return session.csrf if session else None


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body (last value of each field), checked as the module says.

    Without a valid session the body is not read and the form is empty: the page then sends the
    browser to sign in."""
    refuse_foreign_origin(request)
    expected = _expected_csrf(request)
    if expected is None:
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "the form is too large")
    fields = {key: values[-1] for key, values in
              parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not expected or not hmac.compare_digest(fields.get("csrf", "").encode(), expected.encode()):
        raise HTTPException(403, "this form is out of date or was not sent by partnermatch: "
                                 "reload the page and try again")
    return fields
