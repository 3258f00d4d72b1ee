from fastapi import APIRouter, HTTPException, Response, status

from api.deps import DbDep, PrincipalDep
from api.schemas import ErrorResponse, TokenCreate, TokenCreated, error_responses
from api.security import Principal, Role, forbidden
from graph.database import Database
from graph.members import get_member
from graph.store import read_network
from graph.tokens import get_token, issue_token, revoke_token
from graph.validation import DocumentInvalid, Problem

router = APIRouter(prefix="/tokens", tags=["tokens"],
                   responses=error_responses(401, 403))


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
    if principal.role is Role.FACILITATOR and body.role in (Role.MEMBER, Role.ANALYST):
        if body.network != principal.network:
            raise forbidden("facilitators issue tokens for their own network only")
        return
    raise forbidden(f"the role {principal.role} may not issue {body.role} tokens")


def _check_targets(db: Database, body: TokenCreate) -> None:
    if body.network is not None:
        read_network(db, body.network)
    if body.member is not None and body.network is not None:
        get_member(db, body.network, body.member)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
def create_token(body: TokenCreate, db: DbDep, principal: PrincipalDep) -> TokenCreated:
    """Issue a token (admin: any; facilitator: member and analyst tokens of its network)."""
    _check_shape(body)
    _check_issuer(principal, body)
    _check_targets(db, body)
    secret, stored = issue_token(db, body.role.value, body.network, body.member)
    return TokenCreated(token=secret, id=stored.id, role=body.role, network=stored.network,
                        member=stored.member)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"model": ErrorResponse}})
def delete_token(token_id: str, db: DbDep, principal: PrincipalDep) -> Response:
    """Revoke a token (admin: any; facilitator: its network's member and analyst tokens; anyone:
    its own)."""
    stored = get_token(db, token_id)
    own = stored is not None and stored.id == principal.token_id
    if not principal.is_admin and not own:
        if principal.role is not Role.FACILITATOR:
            raise forbidden(f"the role {principal.role} may not revoke other tokens")
        if stored is not None and (stored.network != principal.network
                                   or stored.role not in (Role.MEMBER, Role.ANALYST)):
            raise forbidden("facilitators revoke member and analyst tokens of their network only")
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id!r}")
    revoke_token(db, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
