"""Dependencies shared by the routers: the database and the authenticated principal."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security import Principal, Role
from graph.database import Database
from graph.tokens import digest, find_token

_bearer = HTTPBearer(auto_error=False, description="A partnermatch access token")


def get_db(request: Request) -> Database:
    return request.app.state.db


DbDep = Annotated[Database, Depends(get_db)]


def get_principal(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal behind the bearer token: 401 when it is missing or unknown."""
    unauthorised = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorised
    secret = credentials.credentials
    admin_digest: str | None = request.app.state.admin_digest
    if admin_digest and hmac.compare_digest(digest(secret), admin_digest):
        return Principal(token_id="environment-admin", role=Role.ADMIN)
    stored = find_token(db, secret)
    if stored is None:
        raise unauthorised
    return Principal(stored.id, Role(stored.role), stored.network, stored.member)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
