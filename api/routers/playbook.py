"""The facilitator's playbook: outside agents, consortia for big orders, gaps and the roadmap.

Members may ask for consortia, their own gaps and their own roadmap: those answers read public
data and the asking member's own data only (never another member's weaknesses, nor projects it
is not part of).
"""

import threading
import weakref
from typing import Any

from fastapi import APIRouter, Request, status

from api.analyses import as_of_for
from api.deps import MANAGERS, MEMBERS_AND_MANAGERS, DbDep, Fresh, PrincipalDep
from api.schemas import (READS_ONLY, AgentsReplace, ConsortiumProjectRequest, ConsortiumRequest,
                         error_responses)
from api.security import Principal, Role, forbidden, require_manager, require_network, require_roles
from graph.agents import list_agents, replace_agents
from graph.database import Database
from graph.projects import create_project
from graph.store import read_orders, read_projects, read_value_chains
from graph.validation import DocumentInvalid, Problem
from matching.agents import network_gaps
from matching.consortium import Order, OrderInvalid, Requirement, form_consortia
from matching.playbook import PublicPart, build_roadmap, public_part
from matching.roadmap import committed_hours
from matching.scoring import PartnerMatcher
from matching.workflow import Phase

router = APIRouter(prefix="/networks/{nid}", tags=["playbook"],
                   responses=error_responses(401, 403, 404, 422))


@router.get("/agents")
def agents(nid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Outside agents the facilitator can bring in (banks, universities, town halls, ...)."""
    require_network(principal, nid)
    return {"network": nid, "agents": list_agents(db, nid)}


@router.put("/agents", dependencies=[MANAGERS])
def put_agents(nid: str, body: AgentsReplace, db: DbDep, principal: PrincipalDep
               ) -> dict[str, Any]:
    """Replace the network's outside agents (facilitator, admin); validated like an import."""
    require_manager(principal, nid)
    return {"network": nid, "agents": replace_agents(db, nid, body.model_dump(mode="json"))}


def _order(principal: Principal, nid: str, body: ConsortiumRequest) -> Order:
    if principal.role is Role.MEMBER:
        if body.lead not in (None, principal.member):
            raise forbidden("a member asks for consortia it leads itself (or with no lead)")
    elif not principal.manages(nid):
        raise forbidden(f"the role {principal.role} may not form consortia")
    lead = body.lead if body.lead or principal.role is not Role.MEMBER else principal.member
    return Order([Requirement(r.capability, r.quantity, r.min_level) for r in body.requirements],
                 lead=lead, competitors=body.competitors.value, max_members=body.max_members)


def _committed(db: Database, nid: str, principal: Principal) -> dict[str, float]:
    """Hours already given to running projects; a member reads only its own projects."""
    projects = read_projects(db, nid)
    if principal.role is Role.MEMBER:
        mine = [p for p in projects if any(m["member"] == principal.member
                                           for m in p["members"])]
        hours = committed_hours(mine)
        return {principal.member: hours[principal.member]} if principal.member in hours else {}
    return committed_hours(projects)


def _consortia(request: Request, db: Database, nid: str, principal: Principal,
               body: ConsortiumRequest, alternatives: int) -> dict[str, Any]:
    require_network(principal, nid)
    order = _order(principal, nid, body)
    committed = _committed(db, nid, principal)
    # The live matcher is updated in place by writes: read its projection under its read lock.
    with request.app.state.matchers.reading(db, nid) as matcher:
        try:
            return form_consortia(matcher.projection_, order, alternatives=alternatives,
                                  committed=committed)
        except OrderInvalid as exc:
            raise DocumentInvalid([Problem(exc.path, exc.message)]) from None


@router.post("/consortia", openapi_extra=READS_ONLY, dependencies=[MEMBERS_AND_MANAGERS])
def consortia(nid: str, body: ConsortiumRequest, request: Request, db: DbDep,
              principal: PrincipalDep) -> dict[str, Any]:
    """The best consortium for an order too big for one firm, and up to two alternatives
    (facilitator, admin; a member for an order it leads)."""
    return {"network": nid, **_consortia(request, db, nid, principal, body, alternatives=2)}


@router.post("/consortia/projects", status_code=status.HTTP_201_CREATED,
             dependencies=[MANAGERS])
def consortium_project(nid: str, body: ConsortiumProjectRequest, request: Request, db: DbDep,
                       principal: PrincipalDep) -> dict[str, Any]:
    """Turn a consortium (the best, or alternative 1 or 2) into a project in phase design, with
    its members and their shares (facilitator, admin)."""
    require_manager(principal, nid)
    result = _consortia(request, db, nid, principal, body, alternatives=body.choice)
    answers = [result["best"], *result["alternatives"]]
    if body.choice >= len(answers) or not answers[body.choice]["members"]:
        raise DocumentInvalid([Problem("choice", f"there is no consortium number {body.choice} "
                                                 "for this order")])
    chosen = answers[body.choice]
    lead = next((m["member"] for m in chosen["members"] if m["lead"]),
                chosen["members"][0]["member"])
    members = [{"member": m["member"],
                "role": ("lead" if m["member"] == lead else "supplier")
                + f" ({m['share']:.0%} of the order)"} for m in chosen["members"]]
    project = {"title": body.title or "Consortium: " + ", ".join(
                   r["label"] for r in chosen["requirements"])[:200],
               "kind": "consortium", "members": members, "lead": lead, "goal": chosen["reason"],
               "source": {"opportunity": "consortium", "order": result["order"],
                          "shares": {m["member"]: m["share"] for m in chosen["members"]},
                          "coverage": chosen["coverage"], "gaps": [g["capability"]
                                                                    for g in chosen["gaps"]]}}
    if body.order_id:
        project["source"]["step"] = f"consortium:{body.order_id}"
    return create_project(db, nid, project, principal.member or f"{principal.role}",
                          phase=Phase.DESIGN)


@router.get("/gaps")
def gaps(nid: str, request: Request, db: DbDep, principal: PrincipalDep,
         fresh: bool = Fresh) -> dict[str, Any]:
    """What no member provides, with the outside agents able to close it (facilitator: the
    network's top gaps, weaknesses included; a member: its own needs and weaknesses)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.MEMBER)
    member = principal.member if principal.role is Role.MEMBER else None
    gaps, as_of = request.app.state.analyses.get(
        db, nid, ("gaps", member),
        lambda m: network_gaps(m.projection_, include_weaknesses=True, member=member),
        fresh=fresh, personal=member is not None)
    return {"network": nid, "gaps": gaps, **as_of_for(principal, nid, as_of)}


# The weakness-free part of the roadmap, per matcher the analyses read: a frozen copy of the
# live matcher (api/analyses.py), never updated in place, so the part stays true for as long as
# it lives; copies of one state of the network (``frozen_at_``) share it, so a member's roadmap
# asked after the refresh that built the part reuses it on a copy of its own.
_PUBLIC: "weakref.WeakKeyDictionary[PartnerMatcher, PublicPart]" = weakref.WeakKeyDictionary()
_PUBLIC_AT: dict[Any, tuple[Any, PublicPart]] = {}  # network id: (state, part), the latest
_PUBLIC_GUARD = threading.Lock()


def _public_part(matcher: PartnerMatcher, templates: list[dict[str, Any]]) -> PublicPart:
    at, nid = getattr(matcher, "frozen_at_", None), matcher.projection_.network.get("id")
    with _PUBLIC_GUARD:
        found = _PUBLIC.get(matcher)
        if found is None and at is not None and nid is not None and \
                _PUBLIC_AT.get(nid, (None,))[0] == at:
            found = _PUBLIC_AT[nid][1]
    if found is None:  # two first readers may both build it: the same part either way
        found = public_part(matcher.projection_, features=matcher.features_, templates=templates)
    with _PUBLIC_GUARD:
        _PUBLIC[matcher] = found
        if at is not None and nid is not None:
            _PUBLIC_AT[nid] = (at, found)
    return found


def roadmap_for(request: Request, db: Database, nid: str, member: str | None, *,
                fresh: bool = False, principal: Principal | None = None) -> dict[str, Any]:
    """The network's roadmap (``member=None``) or one member's, served from the last background
    snapshot. The public part (pooling, shared services, value chains and their schedule) is
    computed once per snapshot, in the background, and shared: a member's view then costs its
    own cross-training, orders and projects and a rescheduling of what they change (tens of
    milliseconds at 10,000 members, docs/benchmarks.md), cheap enough for a member's first
    request; the views of the members who asked last are refreshed in the background."""

    def compute(matcher: PartnerMatcher) -> dict[str, Any]:
        orders = [o for o in read_orders(db, nid) if member is None or o.get("lead") == member]
        return build_roadmap(
            matcher.projection_, member=member,
            features=matcher.features_ if member is None else None,
            public=_public_part(matcher, read_value_chains(db, nid)),
            orders=[(o["id"], Order([Requirement(r["capability"], r["quantity"], r["min_level"])
                                     for r in o["requirements"]], lead=o.get("lead"),
                                    competitors=o.get("competitors", "penalise"),
                                    max_members=o.get("max_members"))) for o in orders],
            pairs=matcher.best_pairs(5, "penalise") if member is None else (),
            projects=read_projects(db, nid))

    analyses = request.app.state.analyses
    # The public part is an analysis of its own, so every background refresh computes it even
    # when no roadmap asked recently is refreshed: a member's first ask then only reschedules.
    analyses.get(db, nid, "roadmap-public",
                 lambda m: _public_part(m, read_value_chains(db, nid)), fresh=fresh)
    roadmap, as_of = analyses.get(db, nid, ("roadmap", member), compute, fresh=fresh,
                                  personal=member is not None)
    return {**roadmap, **(as_of_for(principal, nid, as_of) if principal else {})}


@router.get("/roadmap")
def roadmap(nid: str, request: Request, db: DbDep, principal: PrincipalDep,
            fresh: bool = Fresh) -> dict[str, Any]:
    """Opportunities as a sequence of steps, quick low-trust wins first, within members' hours
    (facilitator, admin: the whole network; a member: its own steps and first step)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.MEMBER)
    member = principal.member if principal.role is Role.MEMBER else None
    return roadmap_for(request, db, nid, member, fresh=fresh, principal=principal)
