from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.deps import MEMBERS_AND_MANAGERS, DbDep, PrincipalDep
from api.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    PairsPublic,
    SuggestionsPublic,
    error_responses,
)
from api.security import acting, forbidden, require_manager, require_network
from graph.feedback import (DecisionNotFound, member_decisions, record_feedback,
                            undo_decision)
from graph.members import MemberNotFound
from matching.features import View
from matching.scoring import CompetitorPolicy, UnknownMember

router = APIRouter(prefix="/networks/{nid}", tags=["suggestions"],
                   responses=error_responses(401, 403, 404, 422))

Limit = Query(10, ge=1, le=100, description="How many suggestions (1-100)")
Policy = Query(CompetitorPolicy.PENALISE,
               description="include: score rivals like anyone; penalise: only non-core "
                           "cooperation counts for rivals; exclude: leave rivals out")


@router.get("/members/{mid}/suggestions", response_model=SuggestionsPublic)
def member_suggestions(
    nid: str, mid: str, request: Request, db: DbDep, principal: PrincipalDep,
    limit: int = Limit, competitors: CompetitorPolicy = Policy,
) -> dict[str, Any]:
    """New complementary partners for a member, with reasons, and existing partners to
    strengthen (member: only itself)."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, mid)):
        raise forbidden("members see their own suggestions only")
    # A member's own list may not depend on what the candidates are weak in (non-interference).
    view = View.FACILITATOR if principal.manages(nid) else View.MEMBER
    with request.app.state.matchers.reading(db, nid, queued=True) as matcher:
        try:
            suggestions = matcher.suggest(mid, limit=limit, competitors=competitors, view=view)
            strengthen = matcher.strengthen(mid, limit=limit, competitors=competitors, view=view)
        except UnknownMember:
            raise MemberNotFound(mid) from None
    return {"member": mid, "suggestions": [s.as_dict() for s in suggestions],
            "strengthen": [s.as_dict() for s in strengthen]}


@router.get("/suggestions", response_model=PairsPublic)
def network_pairs(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500), competitors: CompetitorPolicy = Policy,
    fresh: bool = Query(False, description="Wait for the network's current version"),
) -> dict[str, Any]:
    """The network's best pairs, each once (facilitator, admin)."""
    require_manager(principal, nid)
    pairs, as_of = request.app.state.analyses.get(
        db, nid, ("pairs", limit, str(competitors)),
        lambda m: m.best_pairs(limit=limit, competitors=competitors), fresh=fresh)
    return {"network": nid, "pairs": pairs, "as_of": as_of}


@router.post("/feedback", response_model=FeedbackPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[MEMBERS_AND_MANAGERS])
def feedback(nid: str, body: FeedbackCreate, db: DbDep, principal: PrincipalDep
             ) -> dict[str, Any]:
    """Accept or decline a suggestion (the member itself, or its facilitator or admin on its
    behalf: recorded as such, and never learnt by the ranker as the member's own choice).

    `member` and `candidate` must differ: no feedback on oneself (422)."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, body.member)):
        raise forbidden("members give feedback on their own suggestions only")
    return record_feedback(db, nid, body.member, body.candidate, body.decision,
                           by=acting(principal, body.member))


@router.get("/members/{mid}/decisions")
def decisions(nid: str, mid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """The member's current answer on each suggested partner it accepted or declined, newest
    first (the member itself, its facilitator, admins)."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, mid)):
        raise forbidden("members see their own decisions only")
    return {"member": mid, "decisions": member_decisions(db, nid, mid)}


@router.delete("/members/{mid}/decisions/{candidate}")
def undo(nid: str, mid: str, candidate: str, db: DbDep, principal: PrincipalDep
         ) -> dict[str, Any]:
    """Take back the latest accept or decline on a candidate (the member itself, or its
    facilitator or admin on its behalf): the decision before it counts again, if any."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, mid)):
        raise forbidden("members take back their own decisions only")
    try:
        return undo_decision(db, nid, mid, candidate)
    except DecisionNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"{mid!r} has no decision on {candidate!r} to take back") from None
