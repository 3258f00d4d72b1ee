from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from api.deps import MEMBERS_AND_MANAGERS, DbDep, PrincipalDep
from api.schemas import ErrorResponse, MembersPublic, error_responses
from api.security import (
    Role,
    acting,
    forbidden,
    history_view,
    member_view,
    require_manager,
    require_network,
)
from graph.introductions import revealed_partners
from graph.members import (delete_member, get_member, list_members, member_changes, members_page,
                           put_member)
from graph.projects import member_projects
from graph.store import known_broader, read_network
from graph.validation import DocumentInvalid, Problem

MAX_LIMIT = 1000  # members a page of the list may hold
router = APIRouter(prefix="/networks/{nid}/members", tags=["members"],
                   responses=error_responses(401, 403, 404, 422))


@router.get("", response_model=MembersPublic, responses={422: {"model": ErrorResponse}})
def get_members(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    sector: str | None = Query(None, max_length=200),
    region: str | None = Query(None, max_length=200),
    capability: str | None = Query(None, max_length=100,
                                   description="Members with it or a narrower capability"),
    q: str | None = Query(None, max_length=200, description=(
        "Text in the name, the description or a capability or need label (English or Spanish);"
        " case and accents are folded")),
    limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=(
        "At most this many members, in id order (``count`` is still every match): a page of a "
        "large network, found in memory, only its rows read")),
    offset: int = Query(0, ge=0, le=10_000_000, description="Members skipped, with ``limit``"),
) -> dict[str, Any]:
    """Members of the network in id order; others' weaknesses are never shown."""
    require_network(principal, nid)
    read_network(db, nid)
    if capability is not None and capability not in known_broader(db, nid):
        raise DocumentInvalid([Problem("query.capability", f"unknown capability {capability!r}")])
    filters = {"sector": sector, "region": region, "capability": capability, "text": q}
    if limit is None and not offset:
        members = list_members(db, nid, **filters)
        count = len(members)
    else:
        with request.app.state.matchers.reading(db, nid) as matcher:
            count, members = members_page(db, nid, matcher.projection_, offset=offset,
                                          limit=limit or MAX_LIMIT, **filters)
    revealed = _revealed(db, principal, nid)
    views = [member_view(principal, nid, m, revealed) for m in members]
    return {"network": nid, "count": count, "members": views}


@router.get("/{mid}")
def get_one(nid: str, mid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """A member's profile: full for itself, its facilitators and admins; public otherwise."""
    require_network(principal, nid)
    view = member_view(principal, nid, get_member(db, nid, mid), _revealed(db, principal, nid))
    reader = None if principal.manages(nid) else (principal.member or "")
    view["projects"] = member_projects(db, nid, mid, reader=reader)
    if principal.sees_weaknesses_of(nid, mid):
        view["history"] = history_view(principal, nid, member_changes(db, nid, mid))
    return view


def _revealed(db: DbDep, principal: PrincipalDep, nid: str) -> set[str]:
    """Members whose contact this member may see, after a double opt-in."""
    if principal.role is Role.MEMBER and principal.member:
        return revealed_partners(db, nid, principal.member)
    return set()


@router.put("/{mid}", responses={422: {"model": ErrorResponse}},
            dependencies=[MEMBERS_AND_MANAGERS])
def put_one(
    nid: str, mid: str, db: DbDep, principal: PrincipalDep,
    member: dict[str, Any] = Body(description="The member object of the import format"),
) -> dict[str, Any]:
    """Create or replace a member (facilitator, admin, or the member itself); validated like import."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, mid)):
        raise forbidden("only the member itself, its facilitators and admins may change it")
    if isinstance(member, dict):
        member.pop("projects", None)  # read-only: shown on GET, changed through /projects
        member.pop("history", None)  # read-only: who changed the profile
    # A member saving itself never creates itself: removed meanwhile, it stays removed.
    return put_member(db, nid, mid, member, by=acting(principal, mid),
                      create=principal.manages(nid))


@router.delete("/{mid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_one(nid: str, mid: str, db: DbDep, principal: PrincipalDep) -> Response:
    """Remove a member (facilitator, admin): its ties go, its tokens and invitations are revoked,
    its open introductions withdrawn; a later member with the same id is someone else."""
    require_manager(principal, nid)
    delete_member(db, nid, mid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
