"""Introductions (double opt-in) and collaboration projects (phases, outcomes)."""

from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request, Response, status

from api.deps import MANAGERS, MEMBERS_AND_MANAGERS, DbDep, PrincipalDep
from api.schemas import (
    IntroductionAction,
    IntroductionCreate,
    OutcomesUpdate,
    ProjectCreate,
    ProjectMove,
    error_responses,
)
from api.security import (
    Role,
    acting,
    actor_for,
    forbidden,
    history_view,
    require_manager,
    require_network,
)
from graph.introductions import (
    act_on_introduction,
    get_introduction,
    list_introductions,
    request_introduction,
)
from graph.disclosure import member_introduction, public_project
from graph.members import MemberNotFound, get_member
from graph.projects import create_project, delete_project, get_project, move_project, set_outcomes
from graph.store import read_projects
from matching.features import RIVALRY_FEATURES
from matching.workflow import Actor, IntroStatus

router = APIRouter(prefix="/networks/{nid}", tags=["collaboration"],
                   responses=error_responses(401, 403, 404, 409, 422))


def _shown(principal, nid: str, item: dict[str, Any]) -> dict[str, Any]:
    """An introduction or project with its history as the principal may read it."""
    return {**item, "history": history_view(principal, nid, item["history"])}


def current_lead(project: dict[str, Any]) -> str | None:
    """The lead, if still a participant: a later member with a removed lead's id is not it."""
    lead = project.get("lead")
    return lead if any(m["member"] == lead for m in project["members"]) else None


def _project_for(principal, nid: str, project: dict[str, Any]) -> dict[str, Any]:
    """Full for facilitators and participants; what ``graph.disclosure`` allows otherwise."""
    if principal.manages(nid) or any(m["member"] == principal.member
                                     for m in project["members"]):
        return project
    return public_project(project)


def _introduction_for(principal, nid: str, introduction: dict[str, Any]) -> dict[str, Any]:
    """Members never see the reasons a facilitator gave for an introduction it proposed."""
    return introduction if principal.manages(nid) else member_introduction(introduction)


def _relation(request: Request, db: DbDep, nid: str, a: str, b: str) -> tuple[bool, bool]:
    """Whether a and b are rivals, and whether a positive tie links them (the engine's view)."""
    with request.app.state.matchers.reading(db, nid) as matcher:
        index = matcher.projection_.member_index
        for mid in (a, b):
            if mid not in index:  # removed since the request read it: the matcher is newer
                raise MemberNotFound(mid)
        f = matcher.features_.block(np.array([index[a]]), ("tie", *RIVALRY_FEATURES))
        j = index[b]
        return bool(matcher.features_.competitor(f)[0, j]), bool(f["tie"][0, j] > 0)


@router.post("/introductions", status_code=status.HTTP_201_CREATED,
             dependencies=[MEMBERS_AND_MANAGERS])
def request(nid: str, body: IntroductionCreate, request: Request, db: DbDep,
            principal: PrincipalDep) -> dict[str, Any]:
    """Ask to be introduced (the member itself, or its facilitator on its behalf).

    `from` and `to` must differ: no introduction to oneself (422). One open request per pair:
    another one, from either side, answers 409 naming the open one."""
    require_network(principal, nid)
    if not (principal.manages(nid) or principal.is_member(nid, body.requester)):
        raise forbidden("members request introductions for themselves only")
    get_member(db, nid, body.requester)
    get_member(db, nid, body.recipient)
    rivals, tied = (_relation(request, db, nid, body.requester, body.recipient)
                    if body.requester != body.recipient else (False, False))
    made = request_introduction(db, nid, body.requester, body.recipient, competitors=rivals,
                                tied=tied, message=body.message, reasons=body.suggestion_reasons,
                                by=acting(principal, body.requester))
    return _shown(principal, nid, _introduction_for(principal, nid, made)) | {
        "competitors": rivals}


@router.get("/introductions")
def introductions(nid: str, db: DbDep, principal: PrincipalDep,
                  status: IntroStatus | None = Query(None)) -> dict[str, Any]:
    """The approval queue and history (facilitators), or a member's own, sent and received."""
    require_network(principal, nid)
    if principal.manages(nid):
        found = list_introductions(db, nid, status=status)
    elif principal.role is Role.MEMBER:
        found = [member_introduction(i) for i in
                 list_introductions(db, nid, member=principal.member, status=status)]
    else:
        raise forbidden("analysts do not see introductions; their counts are in /metrics")
    return {"network": nid, "introductions": [_shown(principal, nid, i) for i in found]}


@router.post("/introductions/{iid}/actions", dependencies=[MEMBERS_AND_MANAGERS])
def act(nid: str, iid: str, body: IntroductionAction, db: DbDep, principal: PrincipalDep
        ) -> dict[str, Any]:
    """approve / reject (facilitator), accept / decline (the recipient), cancel (requester);
    an optional note (a facilitator's reason, say) goes into the history both members read."""
    require_network(principal, nid)
    current = get_introduction(db, nid, iid)
    actor = actor_for(principal, nid, requester=current["from"], recipient=current["to"])
    if actor is Actor.OTHER and not principal.manages(nid):
        raise forbidden("this introduction is not yours")
    return _shown(principal, nid, _introduction_for(principal, nid, act_on_introduction(
        db, nid, iid, body.action, actor, acting(principal), note=body.note)))


@router.get("/projects")
def projects(nid: str, db: DbDep, principal: PrincipalDep,
             phase: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    """Projects of the network (members: the ones they take part in)."""
    require_network(principal, nid)
    found = read_projects(db, nid)
    if principal.role is Role.MEMBER:
        found = [p for p in found if any(m["member"] == principal.member for m in p["members"])]
    if phase is not None:
        found = [p for p in found if p["phase"] == phase]
    return {"network": nid, "projects": [_shown(principal, nid, _project_for(principal, nid, p))
                                         for p in found]}


@router.post("/projects", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
def new_project(nid: str, body: ProjectCreate, db: DbDep, principal: PrincipalDep
                ) -> dict[str, Any]:
    """Start a project from an opportunity or from scratch (facilitator, admin)."""
    require_manager(principal, nid)
    return create_project(db, nid, body.model_dump(mode="json"), acting(principal))


@router.get("/projects/{pid}")
def project(nid: str, pid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """One project: in full for its participants and the facilitators; for other members and
    analysts what ``graph.disclosure`` lets outsiders see (as on the participants' profiles)."""
    require_network(principal, nid)
    found = get_project(db, nid, pid)
    return _shown(principal, nid, _project_for(principal, nid, found))


@router.delete("/projects/{pid}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
def remove_project(nid: str, pid: str, db: DbDep, principal: PrincipalDep) -> Response:
    """Delete a project made by mistake (facilitator, admin); to end a real one, abandon it
    with a reason instead, which keeps its history."""
    require_manager(principal, nid)
    delete_project(db, nid, pid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/projects/{pid}/transitions", dependencies=[MEMBERS_AND_MANAGERS])
def transition(nid: str, pid: str, body: ProjectMove, db: DbDep, principal: PrincipalDep
               ) -> dict[str, Any]:
    """Move one phase forward or abandon with a reason (facilitator, admin, project lead)."""
    require_network(principal, nid)
    current = get_project(db, nid, pid)
    actor = actor_for(principal, nid, lead=current_lead(current))
    return _shown(principal, nid, _project_for(principal, nid, move_project(
        db, nid, pid, body.to.value, actor, acting(principal), body.reason)))


@router.put("/projects/{pid}/outcomes", dependencies=[MEMBERS_AND_MANAGERS])
def outcomes(nid: str, pid: str, body: OutcomesUpdate, db: DbDep, principal: PrincipalDep
             ) -> dict[str, Any]:
    """Record expected and realised savings, new business, certifications, trainings."""
    require_network(principal, nid)
    current = get_project(db, nid, pid)
    if actor_for(principal, nid, lead=current_lead(current)) not in (Actor.MANAGER, Actor.LEAD):
        raise forbidden("only the network's facilitators and the project lead record outcomes")
    return _shown(principal, nid, _project_for(principal, nid, set_outcomes(
        db, nid, pid, body.model_dump(mode="json"))))
