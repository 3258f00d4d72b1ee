"""Dependencies shared by the routers: the database and the authenticated principal."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security import (Principal, Role, forbidden, require_manager,
                          require_member_or_manager)
from api.throttle import client_address, throttle_of
from graph.database import Database
from graph.tokens import BOOTSTRAP_TOKEN_ID, digest, find_token_by_hash, signed_here

_bearer = HTTPBearer(auto_error=False, description="A partnermatch access token")
ENVIRONMENT_ADMIN = "environment-admin"
_NO_LONGER_VALID = ("this token is no longer valid: it expired or was revoked, or its member or "
                    "network was removed; ask for a new one")


def get_db(request: Request) -> Database:
    return request.app.state.db


DbDep = Annotated[Database, Depends(get_db)]


def _unauthorised() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                         headers={"WWW-Authenticate": "Bearer"})


def get_principal(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal behind the bearer token: 401 when it is missing, unknown, expired or its
    member is gone; 429 after too many failures from the client's address. A token this service
    issued that no longer opens anything is not counted as a failure (it cannot be guessed)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorised()
    checked = getattr(request.state, "principal", None)  # by the gate, before the body was read
    if checked is not None and checked[0] == credentials.credentials:
        return checked[1]
    address = client_address(request)
    throttle = throttle_of(request)
    throttle.check(address)
    principal = _authenticate(request, db, credentials.credentials)
    if principal is None:
        if signed_here(db, credentials.credentials):
            # Valid once (its network or member removed, revoked, expired): whoever sends it is
            # not guessing, and counting it would lock out everyone behind its address.
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, _NO_LONGER_VALID,
                                headers={"WWW-Authenticate": "Bearer"})
        throttle.fail(address)
        raise _unauthorised()
    return principal


def _authenticate(request: Request, db: Database, secret: str) -> Principal | None:
    return principal_of_hash(request, db, digest(secret))


def principal_of_hash(request: Request, db: Database, token_hash: str) -> Principal | None:
    """The principal behind the token with this hash, or None (a web session keeps the hash)."""
    admin_digest: str | None = request.app.state.admin_digest
    if admin_digest and hmac.compare_digest(token_hash, admin_digest):
        return Principal(token_id=ENVIRONMENT_ADMIN, role=Role.ADMIN)
    stored = find_token_by_hash(db, token_hash)
    if stored is None:
        return None
    if stored.id == BOOTSTRAP_TOKEN_ID and admin_digest:
        return None  # retired: an admin token is configured in the environment
    return Principal(stored.id, Role(stored.role), stored.network, stored.member,
                     issued_by=stored.issued_by, issuer_role=stored.issuer_role)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _guard(check: Callable[[Principal, str], None]) -> Any:
    """A route dependency: who may send the route a body at all, ``check(principal, nid)``.

    The gate (api/limits.py) runs it right after the token, before a byte of the body is read,
    and FastAPI again before it validates the body: a caller without the right gets 403 whatever
    it sends (malformed JSON included), never a 422 about a body it may not send at all. The
    endpoint still checks the finer rules (which member, which project), and keeps the coarse
    check too: the web pages call it as a function, without its dependencies."""
    def dependency(request: Request, principal: PrincipalDep) -> None:
        check(principal, request.path_params.get("nid", ""))
    dependency.__guard__ = check  # type: ignore[attr-defined]  # found by the gate
    return Depends(dependency)


def _admins(principal: Principal, nid: str) -> None:
    if not principal.is_admin:
        raise forbidden("only admins create or change networks")


def _issuers(principal: Principal, nid: str) -> None:
    if not principal.is_admin and principal.role is not Role.FACILITATOR:
        raise forbidden(f"the role {principal.role} may not issue tokens")


# Who may send a body to a route at all (``dependencies=[...]`` of the route).
ADMINS = _guard(_admins)
ISSUERS = _guard(_issuers)  # of tokens: admins, facilitators (each rule is in the route)
MANAGERS = _guard(require_manager)
MEMBERS_AND_MANAGERS = _guard(require_member_or_manager)


# Analyses are served from the last background result (``as_of``); fresh waits for the current.
Fresh = Query(False, description="Wait for the network's current version instead of serving "
                                 "the last result (its version and time are in as_of)")
