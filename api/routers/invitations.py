"""Invitation codes: a facilitator invites a member, the member redeems the code for its own
token (the only unauthenticated write, throttled like a failed sign-in)."""

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.deps import MANAGERS, DbDep, PrincipalDep
from api.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    InvitationRedeem,
    InvitationsPublic,
    TokenCreated,
    error_responses,
)
from api.security import Principal, Role, issuer_words, require_manager
from api.throttle import client_address, throttle_of
from graph.invitations import (
    InvitationNotFound,
    InvitationUnusable,
    get_invitation,
    invite,
    list_invitations,
    redeem,
    revoke_invitation,
)
from graph.members import get_member
from graph.tokens import INVITATION_CODE, signed_here

router = APIRouter(tags=["invitations"])
MANAGED = error_responses(401, 403, 404, 422, 429)


@router.post("/networks/{nid}/invitations", status_code=status.HTTP_201_CREATED,
             dependencies=[MANAGERS],
             response_model=InvitationCreated, responses=MANAGED)
def create_invitation(nid: str, body: InvitationCreate, db: DbDep, principal: PrincipalDep
                      ) -> dict[str, Any]:
    """Invite a member (facilitator, admin): a single-use code, shown once, that the member
    redeems at `POST /invitations/redeem` for its own token."""
    require_manager(principal, nid)
    get_member(db, nid, body.member)
    code, invitation = invite(db, nid, body.member, days=body.days,
                              issued_by=principal.token_id, issuer_role=principal.role.value)
    return {**invitation, "code": code}


@router.get("/networks/{nid}/invitations", response_model=InvitationsPublic, responses=MANAGED)
def invitations(nid: str, db: DbDep, principal: PrincipalDep,
                member: str | None = Query(None, max_length=100)) -> dict[str, Any]:
    """The network's invitations and their state (facilitator, admin); never their codes."""
    require_manager(principal, nid)
    return {"network": nid, "invitations": list_invitations(db, nid, member)}


@router.delete("/networks/{nid}/invitations/{iid}", response_model=InvitationPublic,
               responses={**MANAGED, **error_responses(409)})
def delete_invitation(nid: str, iid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Revoke an invitation that was not redeemed (facilitator, admin); a redeemed one: revoke
    its token at `DELETE /tokens/{id}`."""
    require_manager(principal, nid)
    get_invitation(db, nid, iid)
    try:
        return revoke_invitation(db, nid, iid)
    except InvitationUnusable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post("/invitations/redeem", status_code=status.HTTP_201_CREATED,
             response_model=TokenCreated, responses=error_responses(401, 410, 422, 429))
def redeem_invitation(body: InvitationRedeem, request: Request, db: DbDep) -> dict[str, Any]:
    """Exchange an invitation code for the member's own token (no token needed); each code works
    once. Unknown codes count as failed authentications (429 after 10 a minute); a code this
    service made whose invitation was used, revoked, expired or removed does not (410)."""
    address = client_address(request)
    throttle = throttle_of(request)
    throttle.check(address)
    code = body.code.strip()
    try:
        made = redeem(db, code)
    except InvitationNotFound:
        if signed_here(db, code, INVITATION_CODE):  # its member or network was removed
            raise HTTPException(status.HTTP_410_GONE, "this invitation code is no longer valid: "
                                "ask your facilitator for a new one") from None
        throttle.fail(address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown invitation code") from None
    except InvitationUnusable as exc:  # a code that exists: whoever sends it is not guessing
        raise HTTPException(status.HTTP_410_GONE, f"{exc}: ask your facilitator for a new "
                                                  f"one") from None
    token = made.token
    holder = Principal(token.id, Role.MEMBER, token.network, token.member)
    return {**token.as_dict(), "token": made.secret, "expired": False, "current": False,
            "issued_by": None, "issuer": issuer_words(token.issuer_role, holder)}
