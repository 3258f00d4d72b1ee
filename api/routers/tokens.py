"""Access tokens: issue, list and revoke (secrets are shown once, at issue, and never again)."""

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from api.deps import ISSUERS, DbDep, PrincipalDep
from api.schemas import TokenCreate, TokenCreated, TokensPublic, error_responses
from api.security import Principal, Role, forbidden, issuer_words
from graph.database import Database
from graph.members import get_member
from graph.store import read_network
from graph.tokens import (
    BOOTSTRAP_TOKEN_ID,
    StoredToken,
    get_token,
    issue_token,
    list_tokens,
    now_utc,
    retire_bootstrap_token,
    revoke_token,
    stamp,
    token_days,
)
from graph.validation import DocumentInvalid, Problem

router = APIRouter(prefix="/tokens", tags=["tokens"],
                   responses=error_responses(401, 403, 422, 429))
DELEGATED = (Role.MEMBER, Role.ANALYST)  # what a facilitator issues, lists and revokes


def _check_shape(body: TokenCreate) -> None:
    problems = []
    needs_network = body.role is not Role.ADMIN
    if needs_network and body.network is None:
        problems.append(Problem("network", f"a {body.role} token needs a network"))
    if not needs_network and body.network is not None:
        problems.append(Problem("network", "an admin token has no network"))
    if body.role is Role.MEMBER and body.member is None:
        problems.append(Problem("member", "a member token needs a member"))
    if body.role is not Role.MEMBER and body.member is not None:
        problems.append(Problem("member", f"a {body.role} token has no member"))
    if problems:
        raise DocumentInvalid(problems)


def _check_issuer(principal: Principal, body: TokenCreate) -> None:
    if principal.is_admin:
        return
    if principal.role is Role.FACILITATOR and body.role in DELEGATED:
        if body.network != principal.network:
            raise forbidden("facilitators issue tokens for their own network only")
        return
    raise forbidden(f"the role {principal.role} may not issue {body.role} tokens")


def _days(db: Database, body: TokenCreate) -> int:
    longest = token_days(db, body.role.value, body.network)
    if body.days is not None and body.days > longest:
        raise DocumentInvalid([Problem("days", f"is {body.days} but {body.role} tokens of this "
                                               f"network live at most {longest} days")])
    return body.days or longest


def _check_targets(db: Database, body: TokenCreate) -> None:
    if body.network is not None:
        read_network(db, body.network)
    if body.member is not None and body.network is not None:
        get_member(db, body.network, body.member)


def _public(principal: Principal, token: StoredToken) -> dict[str, Any]:
    """A token as ``principal`` may see it: members and analysts get the issuer in words."""
    data = token.as_dict()
    data["expired"] = data["expires"] is not None and stamp(now_utc()) >= data["expires"]
    data["issuer"] = issuer_words(token.issuer_role, principal)
    data["current"] = token.id == principal.token_id
    if not principal.is_admin and principal.role is not Role.FACILITATOR:
        data["issued_by"] = None
    return data


def _may_manage(principal: Principal, token: StoredToken) -> bool:
    """Whether ``principal`` may see and revoke ``token``."""
    if principal.is_admin or token.id == principal.token_id:
        return True
    if principal.role is Role.FACILITATOR:
        return token.network == principal.network and token.role in DELEGATED
    if principal.role is Role.MEMBER:
        return (token.role == Role.MEMBER and token.network == principal.network
                and token.member == principal.member)
    return False


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             responses=error_responses(404, 422), dependencies=[ISSUERS])
def create_token(body: TokenCreate, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Issue a token (admin: any; facilitator: member and analyst tokens of its network).

    The first admin token minted with the bootstrap token retires the bootstrap token."""
    _check_shape(body)
    _check_issuer(principal, body)
    _check_targets(db, body)
    days = _days(db, body)
    secret, stored = issue_token(db, body.role.value, body.network, body.member, days=days,
                                 issued_by=principal.token_id, issuer_role=principal.role.value)
    if principal.token_id == BOOTSTRAP_TOKEN_ID and body.role is Role.ADMIN:
        retire_bootstrap_token(db)
    return {**_public(principal, stored), "token": secret}


@router.get("", response_model=TokensPublic)
def tokens(db: DbDep, principal: PrincipalDep,
           network: str | None = Query(None, max_length=100),
           member: str | None = Query(None, max_length=100),
           role: Role | None = Query(None)) -> dict[str, Any]:
    """Tokens the caller may revoke (admin: all; facilitator: its network's member and analyst
    tokens and its own; member: its own; analyst: its own). Never their secrets."""
    if principal.is_admin:
        found = list_tokens(db, network=network, member=member,
                            roles=[role.value] if role else None)
    elif principal.role is Role.FACILITATOR:
        roles = [r.value for r in DELEGATED if role in (None, r)]
        found = list_tokens(db, network=principal.network, member=member, roles=roles)
        if member is None and role in (None, Role.FACILITATOR):
            found = list_tokens(db, ids=[principal.token_id]) + found
    elif principal.role is Role.MEMBER:
        found = list_tokens(db, network=principal.network, member=principal.member,
                            roles=[Role.MEMBER.value])
    else:
        found = list_tokens(db, ids=[principal.token_id])
    visible = [t for t in found if _may_manage(principal, t)]
    return {"tokens": [_public(principal, t) for t in visible]}


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=error_responses(404))
def delete_token(token_id: str, db: DbDep, principal: PrincipalDep) -> Response:
    """Revoke a token (admin: any; facilitator: its network's member and analyst tokens;
    member: its own ones; anyone: the one it uses)."""
    stored = get_token(db, token_id)
    if principal.role in DELEGATED and (stored is None or not _may_manage(principal, stored)):
        # Members and analysts learn nothing about others' tokens, not even that they exist.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id!r} of yours")
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id!r}")
    if not _may_manage(principal, stored):
        raise forbidden("facilitators revoke member and analyst tokens of their network only")
    revoke_token(db, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
