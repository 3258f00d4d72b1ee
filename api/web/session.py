"""Who is signed in: the access token kept in a session cookie, checked like a bearer token.

The cookie is HttpOnly (scripts cannot read the token), SameSite=Strict (no other site can make
the browser send it, which also stops cross-site form posts), has no expiry (the browser forgets
it when the session ends) and is Secure over https. Sign-out deletes it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import get_principal
from api.security import Principal, Role

COOKIE = "pm_session"
MAX_FORM_BYTES = 256 * 1024


class NotSignedIn(Exception):
    """No valid token in the session: the page sends the browser to the sign-in form."""


def principal_for(request: Request, token: str) -> Principal:
    """The principal behind a token, exactly as the API's bearer check finds it (401 if none)."""
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    return get_principal(request, request.app.state.db, credentials)


def current_principal(request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn
    try:
        return principal_for(request, token)
    except HTTPException:
        raise NotSignedIn from None  # revoked or unknown since sign-in


def remember(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


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


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body (last value of each field), refused from another origin."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "this form was posted from another site")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}
