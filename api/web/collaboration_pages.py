"""Introductions and projects in the browser: asking, answering, approving; projects through
their phases, with outcomes.

Every form calls the JSON API's own route function (``api.routers.collaboration``,
``api.routers.suggestions``) with the signed-in principal, so the role rules, the state machines
and their refusals are the API's; a refusal becomes an error page with the same status code.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.routers import collaboration as collaboration_api
from api.routers import opportunities as opportunities_api
from api.routers import suggestions as suggestions_api
from api.schemas import (IntroductionAction, IntroductionCreate, OutcomesUpdate, ProjectCreate,
                         ProjectMove)
from api.security import Principal, require_manager, require_member_or_manager, require_network
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web import numbers, posted_json
from api.web.messages import plain
from api.web.paging import page_query, paginate, per_page_query
from api.web.render import error_page, guarded, page
from api.web.session import read_form
from graph.directory import folded, public_names
from graph.validation import DocumentInvalid, json_path
from matching.workflow import PHASE_ORDER, Phase, TransitionError

router = APIRouter(prefix="/n/{nid}")
FormDep = Annotated[dict[str, str], Depends(read_form)]
# What a redirect's ``done`` says: fixed sentences, never text from the address.
DONE = {
    "asked": N_("The request for an introduction was sent."),
    "approve": N_("The introduction was approved: the other member can now answer."),
    "reject": N_("The introduction was not approved."),
    "accept": N_("You accepted the introduction: you now see each other's contact details."),
    "decline": N_("You declined the introduction."),
    "cancel": N_("The request was withdrawn."),
    "undone": N_("The decision was taken back."),
    "moved": N_("The project moved on."),
    "outcomes": N_("The outcomes were saved."),
    "created": N_("The project was created."),
    "settings": N_("The opportunity settings were saved for this network."),
}
PICK_FROM_LIST = 200  # members up to which a form lists them all to choose from
OUTCOME_FIELDS = ("expected_saving", "realised_saving", "new_business", "trainings")


def notice_for(done: str | None) -> str | None:
    """The sentence for a ``done`` key of the address, in the reader's language (None if the
    key is unknown: nothing typed into the address is ever shown)."""
    return _(DONE[done]) if done in DONE else None


def _back(nid: str, form: dict[str, str], default: str) -> str:
    """Where to go after a form: a page of this network named by the form, else ``default``."""
    target = form.get("back", "")
    if target.startswith(f"/n/{nid}/") and "//" not in target and "\\" not in target:
        return target.split("#")[0].split("?")[0]
    return default


def _redirect(path: str, done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{path}?done={done}{'#' + anchor if anchor else ''}",
                            status_code=303)


def problems_of(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """A form's validation errors as the API's problems: a JSON path and a sentence."""
    return [{"path": prefix + json_path(e["loc"]),
             "message": plain(e["msg"] + (f" (got {e['input']!r})" if _scalar(e) else ""))}
            for e in exc.errors()]


def _scalar(error: dict[str, Any]) -> bool:
    return "input" in error and isinstance(error["input"], (str, int, float))


def member_names(request: Request, nid: str, principal: Principal) -> dict[str, str]:
    """Every member's public name by id, from the live matcher (caught up with the database)
    rather than a read of every member."""
    require_network(principal, nid)
    with request.app.state.matchers.reading(request.app.state.db, nid) as matcher:
        return public_names(matcher.projection_)


def member_picker(request: Request, nid: str, principal: Principal,
                  names: dict[str, str] | None = None) -> dict[str, Any]:
    """What a form's member field offers: every member in a list up to ``PICK_FROM_LIST`` of
    them (``names``), else (``names`` None) a text field whose suggestions come from
    ``/n/{nid}/members.json`` as the reader types (macros.html ``member_picker``)."""
    names = member_names(request, nid, principal) if names is None else names
    return {"names": names if len(names) <= PICK_FROM_LIST else None,
            "url": f"/n/{nid}/members.json"}


# -- introductions --------------------------------------------------------------------------
def introductions_of(request: Request, nid: str, mid: str, principal: Principal
                     ) -> dict[str, list[dict[str, Any]]]:
    """The member's requests, as the API lists them to this principal: sent and received."""
    found = collaboration_api.introductions(nid, request.app.state.db, principal,
                                           status=None)
    mine = found["introductions"]
    return {"outgoing": [i for i in mine if i["from"] == mid],
            "incoming": [i for i in mine if i["to"] == mid]}


@router.post("/home/{mid}/introductions")
def ask(nid: str, mid: str, request: Request, form: FormDep) -> Response:
    """Ask to be introduced to ``to`` (the member itself, or its facilitator on its behalf)."""
    def work(principal: Principal) -> Response:
        message = form.get("message", "").strip() or None
        try:
            body = IntroductionCreate.model_validate({"from": mid, "to": form.get("to", ""),
                                                      "message": message})
        except ValidationError as exc:
            return error_page(request, 422, _("The request was not sent: check these fields."),
                              principal, problems_of(exc))
        collaboration_api.request(nid, body, request, request.app.state.db, principal)
        back = _back(nid, form, f"/n/{nid}/home/{mid}")
        return _redirect(back, "asked", "introductions" if "/home/" in back else "")
    return guarded(request, work)


@router.post("/introductions/{iid}/actions")
def act(nid: str, iid: str, request: Request, form: FormDep) -> Response:
    """Approve or reject (facilitator, with a note), accept or decline (the recipient), cancel."""
    def work(principal: Principal) -> Response:
        require_member_or_manager(principal, nid)  # before the form: 403 whatever it says
        try:
            body = IntroductionAction.model_validate({
                "action": form.get("action", ""), "note": form.get("note", "").strip() or None})
        except ValidationError as exc:
            return error_page(request, 422, _("Nothing was done: check these fields."), principal,
                              problems_of(exc))
        collaboration_api.act(nid, iid, body, request.app.state.db, principal)
        default = (f"/n/{nid}/dashboard" if principal.manages(nid)
                   else f"/n/{nid}/home/{principal.member}")
        back = _back(nid, form, default)
        anchor = "approvals" if back.endswith("/dashboard") else "introductions"
        return _redirect(back, body.action, anchor)
    return guarded(request, work)


@router.post("/home/{mid}/decisions/{candidate}/undo")
def undo(nid: str, mid: str, candidate: str, request: Request, form: FormDep) -> Response:
    """Take back an accept or decline from the "my partners" list."""
    def work(principal: Principal) -> Response:
        suggestions_api.undo(nid, mid, candidate, request.app.state.db, principal)
        return _redirect(f"/n/{nid}/home/{mid}", "undone", "partners")
    return guarded(request, work)


# -- projects -------------------------------------------------------------------------------
@router.get("/projects")
def projects(nid: str, request: Request, done: str | None = None,
             page_number: int = page_query("page"), per_page: int = per_page_query(),
             q: str = Query("", max_length=200), phase: str = Query("", max_length=40)
             ) -> Response:
    """The network's projects (members: their own), found by words of their title and by
    phase, ``per_page`` at a time, and for facilitators a form for a new one."""
    return guarded(request, lambda p: _projects_page(request, nid, p, page_number, per_page,
                                                     notice=notice_for(done), q=q,
                                                     phase=phase))


def _projects_page(request: Request, nid: str, principal: Principal, page_number: int = 1,
                   per_page: int = 25, *, status_code: int = 200, notice: str | None = None,
                   error: str | None = None, problems: list[dict[str, str]] | None = None,
                   values: dict[str, str] | None = None, q: str = "", phase: str = ""
                   ) -> Response:
    """The projects page; after a refused pair form, with its problem and what was typed."""
    found = collaboration_api.projects(nid, request.app.state.db, principal,
                                      phase=phase or None)["projects"]
    words = folded(q).split()
    if words:  # in the titles the reader is shown (an outsider's view of a project included)
        found = [p for p in found if all(w in folded(p.get("title") or "") for w in words)]
    picker = member_picker(request, nid, principal) if principal.manages(nid) else None
    return page(request, "projects.html", status_code, principal=principal, nid=nid,
                shown=paginate(request, found, page_number, per_page), picker=picker,
                notice=notice, phases=PHASE_ORDER, error=error, values=values or {},
                problems=[{**p, "message": plain(p["message"])} for p in problems or []],
                q=q, phase=phase, searched=bool(words or phase), found_count=len(found))


def _spec(form: dict[str, str]) -> dict[str, Any]:
    """The project a form describes: the dashboard's buttons carry the opportunity as JSON
    (``spec``); the pair form names two members."""
    try:
        spec = posted_json.loads(form.get("spec") or "{}")
    except json.JSONDecodeError:
        spec = None
    if not isinstance(spec, dict):
        spec = {"source": form.get("spec")}  # the validator says what is wrong with it
    pair = [form.get(f, "").strip() for f in ("member_a", "member_b")]
    if any(pair):
        spec = {**spec, "kind": spec.get("kind", "pair"),
                "members": [{"member": m, "role": "partner"} for m in pair if m]}
    for field in ("title", "goal", "lead"):
        if form.get(field, "").strip():
            spec[field] = form[field].strip()
    return spec


def _opportunity(request: Request, nid: str, principal: Principal, form: dict[str, str]
                 ) -> dict[str, Any] | None:
    """The project of a buying group or shared service the form names by its category or
    capability (``opportunity`` and its key: the dashboard's buttons carry no member list, a
    group of a large network has thousands), built from the analyses' last result as the
    dashboard showed it; None when the form names no such opportunity, LookupError when the
    analyses no longer have it."""
    kind = form.get("opportunity")
    db = request.app.state.db
    if kind == "purchasing":
        found = opportunities_api.purchasing(nid, request, db, principal, full_at_members=None,
                                             discount=[], fresh=False)["groups"]
        rows = [g for g in found if g["category"] == form.get("category")]
        made = opportunity_projects({"groups": rows[:1]}, {}, {}, None, None)[0]["groups"]
    elif kind == "shared-service":
        found = opportunities_api.pooled_services(nid, request, db, principal,
                                                  fresh=False)["services"]
        rows = [s for s in found if s["capability"] == form.get("capability")]
        made = opportunity_projects({}, {"services": rows[:1]}, {}, None, None)[1]["services"]
    else:
        return None
    if not made:
        raise LookupError(kind)
    return json.loads(made[0]["project"])


@router.post("/projects")
def create(nid: str, request: Request, form: FormDep) -> Response:
    """Start a project from an opportunity of the dashboard or from a pair of members."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)  # before the form: 403 whatever it says
        try:
            named = _opportunity(request, nid, principal, form)
        except LookupError:
            return error_page(request, 409, _("The project was not created: the network's "
                                              "analyses have changed since the dashboard was "
                                              "shown. Reload the dashboard and start it again."),
                              principal)
        spec = _spec({**form, "spec": json.dumps(named)} if named else form)
        pair = not named and not form.get("spec") and ("member_a" in form or "member_b" in form)

        def refused(message: str, problems: list[dict[str, str]] | None = None) -> Response:
            if pair:  # the pair form again, as typed, with the problem above it
                typed = {k: form.get(k, "") for k in ("title", "goal", "member_a", "member_b")}
                return _projects_page(request, nid, principal, status_code=422, error=message,
                                      problems=problems, values=typed)
            return error_page(request, 422, message, principal, problems)
        if pair and not all(form.get(f, "").strip() for f in ("member_a", "member_b")):
            return refused(_("The project was not created: choose its two members."))
        if len({m.get("member") for m in spec.get("members", []) if isinstance(m, dict)}) \
                < len(spec.get("members", [])):
            return refused(_("The project was not created: a member is named twice."))
        try:
            body = ProjectCreate.model_validate(spec)
        except ValidationError as exc:
            return refused(_("The project was not created: check these fields."),
                           problems_of(exc))
        try:
            made = collaboration_api.new_project(nid, body, request.app.state.db, principal)
        except DocumentInvalid as exc:  # a member id typed in a large network's form
            if not pair:
                raise
            return refused(_("The project was not created: check these fields."),
                           exc.as_errors())
        return _redirect(f"/n/{nid}/projects/{made['id']}", "created")
    return guarded(request, work)


def _project_page(request: Request, nid: str, pid: str, principal: Principal, *,
                  status_code: int = 200, notice: str | None = None,
                  errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                  move_error: str | None = None) -> Response:
    db = request.app.state.db
    project = collaboration_api.project(nid, pid, db, principal)
    lead = collaboration_api.current_lead(project)
    may_move = principal.manages(nid) or (lead is not None and principal.is_member(nid, lead))
    following = None
    if project["phase"] in PHASE_ORDER[:-1]:
        following = PHASE_ORDER[PHASE_ORDER.index(Phase(project["phase"])) + 1]
    return page(request, "project.html", status_code, principal=principal, nid=nid,
                project=project, lead=lead, may_move=may_move, following=following,
                phases=PHASE_ORDER, names=member_names(request, nid, principal), notice=notice,
                move_error=move_error, errors=errors or {}, values=values or {
                    **{k: project["outcomes"].get(k) for k in OUTCOME_FIELDS},
                    "certifications": "\n".join(project["outcomes"].get("certifications", []))})


@router.get("/projects/{pid}")
def project(nid: str, pid: str, request: Request, done: str | None = None) -> Response:
    """One project: what the API shows this principal (outsiders: the disclosure rule's view)."""
    return guarded(request, lambda p: _project_page(request, nid, pid, p,
                                                    notice=notice_for(done)))


@router.post("/projects/{pid}/transitions")
def move(nid: str, pid: str, request: Request, form: FormDep) -> Response:
    """One phase forward, or abandoned with a reason (facilitator, admin, the project's lead)."""
    def work(principal: Principal) -> Response:
        require_member_or_manager(principal, nid)  # before the form: 403 whatever it says
        try:
            body = ProjectMove.model_validate({
                "to": form.get("to", ""), "reason": form.get("reason", "").strip() or None})
        except ValidationError as exc:
            return error_page(request, 422, _("The project did not move: check these fields."),
                              principal, problems_of(exc))
        try:
            collaboration_api.transition(nid, pid, body, request.app.state.db, principal)
        except TransitionError as exc:
            if exc.forbidden or body.to != Phase.ABANDONED or body.reason:
                raise
            # the one refusal a person fixes on this form: said next to the note field
            return _project_page(request, nid, pid, principal, status_code=422,
                                 move_error=_("Say why the project is abandoned: the members "
                                              "and the network learn from it."))
        return _redirect(f"/n/{nid}/projects/{pid}", "moved")
    return guarded(request, work)


@router.post("/projects/{pid}/outcomes")
def outcomes(nid: str, pid: str, request: Request, form: FormDep) -> Response:
    """Savings, new business, certifications and trainings; errors next to their fields."""
    def work(principal: Principal) -> Response:
        require_member_or_manager(principal, nid)  # before the form: 403 whatever it says
        values = {k: form.get(k, "").strip() for k in (*OUTCOME_FIELDS, "certifications")}
        raw: dict[str, Any] = {  # amounts as the reader writes them: 9.500 in Spanish
            k: numbers.read(v, int if k == "trainings" else float)
            for k, v in values.items() if v and k != "certifications"}
        raw["certifications"] = [c.strip() for c in values["certifications"].splitlines()
                                 if c.strip()]
        try:
            body = OutcomesUpdate.model_validate(raw)
        except ValidationError as exc:
            errors = {p["path"].split("[")[0]: p["message"] for p in problems_of(exc)}
            return _project_page(request, nid, pid, principal, status_code=422,
                                 errors=errors, values=values)
        collaboration_api.outcomes(nid, pid, body, request.app.state.db, principal)
        return _redirect(f"/n/{nid}/projects/{pid}", "outcomes", "outcomes")
    return guarded(request, work)


def _spec_json(kind: str, members: list[tuple[str, str]], source: dict[str, Any],
               lead: str | None = None) -> str:
    seen: dict[str, str] = {}
    for mid, role in members:
        seen.setdefault(mid, role)  # a member in two stages takes part once, in its first
    spec: dict[str, Any] = {"kind": kind, "source": source,
                            "members": [{"member": m, "role": r} for m, r in seen.items()]}
    if lead:
        spec["lead"] = lead
    return json.dumps(spec, sort_keys=True)


def opportunity_projects(purchasing: dict[str, Any], services: dict[str, Any],
                         training: dict[str, Any], chain: dict[str, Any] | None,
                         template: str | None) -> tuple[Any, Any, Any, Any]:
    """Copies of the dashboard's opportunities, each with the project it would start
    (``project``: the JSON that the dashboard's "start a project" buttons post)."""
    # Copies one level deep: only each row's "project" is added (a deep copy of a large
    # network's groups, thousands of members each, took a tenth of a second per page).
    purchasing = {**purchasing, "groups": [dict(g) for g in purchasing.get("groups", [])]}
    services = {**services, "services": [dict(s) for s in services.get("services", [])]}
    training = {**training, "pairs": [dict(p) for p in training.get("pairs", [])]}
    chain = dict(chain) if chain else chain
    for g in purchasing.get("groups", []):
        g["project"] = _spec_json("buying_group", [(m, "buyer") for m in g["members"]],
                                  {"opportunity": "purchasing", "category": g["category"]},
                                  g.get("lead"))
    for s in services.get("services", []):
        members = [(m, "user") for m in s["members"]]
        if s.get("provider"):
            members.insert(0, (s["provider"], "provider"))
        s["project"] = _spec_json("shared_service", members,
                                  {"opportunity": "shared-service",
                                   "capability": s["capability"]}, s.get("provider"))
    for p in training.get("pairs", []):
        p["project"] = _spec_json("cross_training", [(p["mentor"], "mentor"),
                                                     (p["mentee"], "trainee")],
                                  {"opportunity": "cross-training",
                                   "capability": p["capability"]}, p["mentor"])
    if chain:
        members = [(a["member"], st["id"]) for st in chain["stages"] for a in st["members"]]
        chain["project"] = _spec_json("value_chain", members,
                                      {"opportunity": "value-chain", "template": template})
    return purchasing, services, training, chain
