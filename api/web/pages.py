"""Sign-in, sign-out, the landing page, the network list and the static files."""

from __future__ import annotations

import functools
import gzip
import mimetypes
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.routers import invitations, networks
from api.schemas import InvitationRedeem
from api.security import Principal
from api.web import (collaboration_pages, i18n, member_pages, network_pages,
                    onboarding_pages, picture_pages, rivalry_pages)
from api.web.i18n import gettext as _
from api.web.render import HERE, guarded, page
from api.web.session import (
    NotSignedIn,
    current_principal,
    forget,
    home_of,
    keep_signin_nonce,
    principal_for,
    read_form,
    refuse_foreign_origin,
    remember,
    sessions,
    signin_nonce,
)
from graph.members import get_member
from graph.tokens import INVITATION_CODE

router = APIRouter(include_in_schema=False)
router.include_router(member_pages.router)
router.include_router(network_pages.router)
router.include_router(collaboration_pages.router)
router.include_router(onboarding_pages.router)
router.include_router(rivalry_pages.router)
router.include_router(picture_pages.router)
FormDep = Annotated[dict[str, str], Depends(read_form)]
STATIC = {p.relative_to(HERE / "static").as_posix(): p
          for p in sorted((HERE / "static").rglob("*")) if p.is_file()}
SWAGGER = "/static/vendor/swagger-ui"  # swagger-ui-dist from npm (static/vendor/README.md)


def _whoami(request: Request, principal: Principal) -> dict[str, str | None]:
    name = None
    if principal.member and principal.network:
        try:
            name = get_member(request.app.state.db, principal.network, principal.member)["name"]
        except LookupError:
            name = principal.member
    return {"member_name": name}


@router.get("/")
def landing(request: Request) -> Response:
    try:
        principal = current_principal(request)
    except NotSignedIn:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(home_of(principal), status_code=303)


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (no scheme, no host) is followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    try:
        principal = current_principal(request)
    except NotSignedIn:
        principal = None
    if principal:
        return page(request, "signin.html", principal=principal, nid=principal.network,
                    next=_safe_next(next), error=None, home=home_of(principal),
                    **_whoami(request, principal))
    return _signin_page(request, 200, next=_safe_next(next), error=None)


def _signin_page(request: Request, status_code: int, **context: str | None) -> Response:
    """The sign-in form, with the CSRF token of this browser's sign-in nonce."""
    nonce = signin_nonce(request)
    shown = page(request, "signin.html", status_code,
                 csrf=sessions(request).signin_token(nonce), **context)
    keep_signin_nonce(request, shown, nonce)
    return shown


@router.post("/signin")
def signin(request: Request, form: FormDep) -> Response:
    token, target = form.get("token", "").strip(), _safe_next(form.get("next"))
    if not token:
        return _signin_page(request, 401, next=target, error=_("Enter your access token."))
    if token.startswith(INVITATION_CODE.prefix):
        return _redeem(request, token, target)
    try:
        principal = principal_for(request, token)  # the API's own bearer check, throttled
    except HTTPException as exc:
        if exc.status_code == 429:
            return _throttled(request, exc, target)
        return _signin_page(request, 401, next=target, error=_(
            "This token is not valid: check it, or ask your facilitator for a new one."))
    response = RedirectResponse(target or home_of(principal), status_code=303)
    remember(request, response, token)
    return response


def _throttled(request: Request, exc: HTTPException, target: str | None) -> Response:
    """The sign-in page again, 429, saying how long to wait (the throttle's Retry-After)."""
    wait = (exc.headers or {}).get("Retry-After", "60")
    response = _signin_page(request, 429, next=target, error=_(
        "Too many failed sign-ins from this address: try again in %(seconds)s s.")
        % {"seconds": wait})
    response.headers.update(exc.headers or {})
    return response


def _redeem(request: Request, code: str, target: str | None) -> Response:
    """Sign in with an invitation code: redeem it (the API's own route, throttled the same) and
    show the member its new token once, since it needs the token to sign in again."""
    try:
        made = invitations.redeem_invitation(InvitationRedeem(code=code[:200]), request,
                                             request.app.state.db)
    except HTTPException as exc:
        if exc.status_code == 429:
            return _throttled(request, exc, target)
        if exc.status_code == 410:
            return _signin_page(request, 410, next=target, error=_(
                "This invitation code can no longer be used: it was already used, revoked or "
                "it expired. Ask your facilitator for a new one."))
        return _signin_page(request, 401, next=target, error=_(
            "This invitation code is not valid: check it, or ask your facilitator for a new "
            "one."))
    secret = made["token"]
    principal = principal_for(request, secret)
    cookies = Response()
    request.state.csrf = remember(request, cookies, secret)  # the new session's forms
    shown = page(request, "welcome.html", principal=principal, nid=principal.network,
                 token=secret, expires=made["expires"][:10],
                 home=target or home_of(principal), **_whoami(request, principal))
    shown.raw_headers.extend(h for h in cookies.raw_headers if h[0] == b"set-cookie")
    return shown


@router.post("/signout")
def signout(request: Request, form: FormDep) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    forget(request, response)
    return response


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """Remember the reader's language in a cookie and go back to the page it was on.

    Only the Origin/Fetch-Metadata check guards it, not the session's CSRF token: it must work
    signed out too, and a forged post could do no more than change the interface language."""
    refuse_foreign_origin(request)
    body = await request.body()
    if len(body) > 4096:
        raise HTTPException(413, "the form is too large")
    fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    chosen = fields.get("lang", "")
    if chosen not in i18n.LANGUAGES:
        raise HTTPException(422, f"choose one of the languages {', '.join(i18n.LANGUAGES)}")
    response = RedirectResponse(_safe_next(fields.get("next")) or "/", status_code=303)
    response.set_cookie(i18n.COOKIE, chosen, max_age=i18n.COOKIE_AGE, path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/n")
def network_list(request: Request) -> Response:
    def work(principal: Principal) -> Response:
        found = networks.get_networks(request.app.state.db, principal)
        return page(request, "networks.html", principal=principal, networks=found)
    return guarded(request, work)


COMPRESSED = (".js", ".css", ".svg")  # text: a third of the bytes or less (Cytoscape.js: 443 KB)


@functools.lru_cache(maxsize=64)
def _gzipped(name: str) -> bytes:
    """A static file compressed once per process (the files are part of the package)."""
    return gzip.compress(STATIC[name].read_bytes(), compresslevel=9, mtime=0)


@router.get("/static/{name:path}")
def static(name: str, request: Request) -> Response:
    if name not in STATIC:
        raise HTTPException(404, "no such file")
    headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    if STATIC[name].suffix in COMPRESSED and "gzip" in request.headers.get("accept-encoding", ""):
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(_gzipped(name), media_type=media_type,
                        headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(STATIC[name], headers=headers)


@router.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon where browsers and crawlers look for it without reading the page."""
    return FileResponse(STATIC["favicon.svg"], media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """Swagger UI for the OpenAPI document, from the package's own copy: it works offline."""
    return get_swagger_ui_html(openapi_url=request.app.openapi_url or "/openapi.json",
                               title=f"{request.app.title} · API",
                               swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                               swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                               swagger_favicon_url="/static/favicon.svg",
                               oauth2_redirect_url=None)
