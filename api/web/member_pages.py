"""A member's home (profile, editing, suggestions, feedback), browsing, public profiles.

Each page calls the API's own route functions with the signed-in principal, so it shows and
allows exactly what the API would: others' weaknesses never, contacts only after an accepted
introduction, suggestions and edits only for the member itself and its managers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.routers import members as members_api
from api.routers import networks as networks_api
from api.routers import playbook as playbook_api
from api.routers import suggestions as suggestions_api
from api.schemas import FeedbackCreate, MembersPublic, SuggestionsPublic
from api.security import Principal, Role, forbidden, require_network
from api.web import forms
from api.web.collaboration_pages import introductions_of, member_names, notice_for
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web.labels import Labels, capability_labels
from api.web.messages import plain
from api.web.reasons import say
from api.web.paging import MAX_PER_PAGE, clamp, page_of, page_query, per_page_query
from api.web.render import error_page, guarded, page
from api.web.session import read_form
from graph.store import read_orders
from graph.validation import DocumentInvalid
from matching.scoring import CompetitorPolicy

router = APIRouter(prefix="/n/{nid}")
FormDep = Annotated[dict[str, str], Depends(read_form)]
PICKED = 20  # members a form's member field suggests at once
OFFERS_ME, I_OFFER = {"covers_need", "covers_weakness"}, {"partner_needs"}
FIELD_NAMES = {"level": N_("Level"), "capacity": N_("Capacity"), "core": N_("Core business"),
               "severity": N_("Severity"),
               "kind": N_("Kind"), "urgency": N_("Urgency"), "volume": N_("Volume")}


def _members_page(request: Request, nid: str, principal: Principal, number: int,
                  per_page: int, **filters: Any) -> tuple[int, dict[str, Any]]:
    """The page shown (``number`` clamped to the last) and the API's answer for its rows."""
    filters = {k: filters.get(k) for k in ("sector", "region", "capability", "q")}
    db = request.app.state.db
    found = members_api.get_members(nid, request, db, principal, **filters, limit=per_page,
                                    offset=(number - 1) * per_page)
    if not found["members"] and number > clamp(found["count"], number, per_page):
        number = clamp(found["count"], number, per_page)  # past the end: the last page
        found = members_api.get_members(nid, request, db, principal, **filters,
                                        limit=per_page, offset=(number - 1) * per_page)
    return number, MembersPublic.model_validate(found).model_dump()


def _suggestions(request: Request, nid: str, mid: str, principal: Principal
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cards of new partners, and of existing partners to strengthen."""
    found = suggestions_api.member_suggestions(nid, mid, request, request.app.state.db, principal,
                                               limit=10, competitors=CompetitorPolicy.PENALISE)
    found = SuggestionsPublic.model_validate(found).model_dump()
    cards = found["suggestions"]
    for card in cards + found["strengthen"]:
        reasons = card["reasons"]
        card["offers_me"] = [r for r in reasons if r["kind"] in OFFERS_ME]
        card["i_offer"] = [r for r in reasons if r["kind"] in I_OFFER]
        card["other_reasons"] = [r for r in reasons if r["kind"] not in OFFERS_ME | I_OFFER]
    return cards, found["strengthen"]


def _home(request: Request, nid: str, mid: str, principal: Principal, *, status_code: int = 200,
          rows: dict | None = None, values: dict | None = None, errors: dict | None = None,
          notice: str | None = None, decision: tuple[str, str] | None = None,
          saved: bool = False) -> Response:
    cards, partners = _suggestions(request, nid, mid, principal)  # 403 unless itself or manager
    profile = members_api.get_one(nid, mid, request.app.state.db, principal)
    names = member_names(request, nid, principal)
    labels = Labels(capability_labels(request.app.state.db, nid))
    # Anyone but the member itself (its facilitator, an admin) acts on its behalf: say so.
    on_behalf = None if principal.is_member(nid, mid) else profile["name"]
    for card in cards + partners:  # in the reader's language (the API's text is English),
        for reason in card["reasons"]:  # about the member when read on its behalf
            reason["text"] = say(reason, labels, names, on_behalf)
    if decision and decision[1] in names:  # a member's name, never text from the query string
        words = {"name": names[decision[1]], "member": on_behalf}
        if on_behalf:
            notice = (_("Accepted %(name)s on behalf of %(member)s.") if decision[0] == "accepted"
                      else _("Declined %(name)s on behalf of %(member)s.")) % words
        else:
            notice = (_("You accepted %(name)s.") if decision[0] == "accepted"
                      else _("You declined %(name)s.")) % words
    if saved:
        notice = (_("The profile of %(member)s was saved.") % {"member": on_behalf}
                  if on_behalf else _("Your profile was saved."))
    first_step, my_steps = _roadmap(request, nid, mid, principal)
    decisions = suggestions_api.decisions(nid, mid, request.app.state.db, principal)
    return page(request, "home.html", status_code, principal=principal, nid=nid, member=profile,
                on_behalf=on_behalf, intros=introductions_of(request, nid, mid, principal),
                decisions=decisions["decisions"],
                values=values or profile, rows=rows or forms.rows_of(profile),
                errors=errors or {}, cards=cards, partners=partners, names=names, notice=notice,
                sizes=forms.SIZES, need_kinds=forms.NEED_KINDS, first_step=first_step,
                field_names={k: _(v) for k, v in FIELD_NAMES.items()},
                my_steps=my_steps, orders=_own_orders(request, nid, mid, principal))


def _own_orders(request: Request, nid: str, mid: str, principal: Principal
                ) -> list[dict[str, Any]]:
    """The orders whose titles name the consortium steps on this home: a member's roadmap
    plans consortia only for the orders it leads (``api.routers.playbook``), so those only."""
    return [o for o in read_orders(request.app.state.db, nid)
            if principal.manages(nid) or o.get("lead") == mid]


def _roadmap(request: Request, nid: str, mid: str, principal: Principal
             ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The member's first step and own steps: its own roadmap when the member is reading, the
    network's roadmap (facilitator's view) when a manager is."""
    member = mid if principal.role is Role.MEMBER else None
    roadmap = playbook_api.roadmap_for(request, request.app.state.db, nid, member)
    if member is not None:
        return roadmap.get("first_step"), roadmap["steps"]
    return (roadmap["first_steps"].get(mid),
            [s for s in roadmap["steps"] if mid in s["members"]])


@router.get("/home/{mid}")
def home(nid: str, mid: str, request: Request, saved: bool = False,
         decided: str | None = None, candidate: str | None = None,
         done: str | None = None) -> Response:
    decision = (decided, candidate) if decided in ("accepted", "declined") and candidate else None
    return guarded(request, lambda p: _home(request, nid, mid, p, notice=notice_for(done),
                                            decision=decision, saved=saved))


@router.post("/home/{mid}")
def save_profile(nid: str, mid: str, request: Request, form: FormDep) -> Response:
    def work(principal: Principal) -> Response:
        raw, rows = forms.parse(form)
        try:
            members_api.put_one(nid, mid, request.app.state.db, principal, member=dict(raw))
        except DocumentInvalid as exc:
            errors = forms.field_errors(exc.as_errors())
            return _home(request, nid, mid, principal, status_code=422, rows=rows,
                         values={**raw, "id": mid}, errors=errors)
        return RedirectResponse(f"/n/{nid}/home/{mid}?saved=1#profile", status_code=303)
    return guarded(request, work)


@router.post("/home/{mid}/feedback")
def feedback(nid: str, mid: str, request: Request, form: FormDep) -> Response:
    """Accept or decline a suggestion; answers JSON to the page's script, else redirects."""
    def work(principal: Principal) -> Response:
        require_network(principal, nid)  # before the form: 403 whatever it says
        if not (principal.manages(nid) or principal.is_member(nid, mid)):
            raise forbidden("members give feedback on their own suggestions only")
        try:
            body = FeedbackCreate(member=mid, candidate=form.get("candidate", ""),
                                  decision=form.get("decision", ""))
        except ValueError:
            return error_page(request, 422, _("Choose accept or decline for a suggested member."),
                              principal)
        done = suggestions_api.feedback(nid, body, request.app.state.db, principal)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(done, status_code=201)
        return RedirectResponse(f"/n/{nid}/home/{mid}?decided={done['decision']}"
                                f"&candidate={done['candidate']}#suggestions", status_code=303)
    return guarded(request, work)


@router.get("/members")
def browse(nid: str, request: Request, q: str = "", sector: str = "", region: str = "",
           capability: str = "", page_number: int = page_query("page"),
           per_page: int = per_page_query()) -> Response:
    """The network's members, filtered and searched, ``per_page`` at a time."""
    def work(principal: Principal) -> Response:
        network = networks_api.get_network(nid, request.app.state.db, principal)  # 403 first
        options = _browse_options(request, nid)
        chosen = {"q": q.strip(), "sector": sector, "region": region, "capability": capability}
        error = None
        number = page_number
        try:
            number, found = _members_page(request, nid, principal, page_number, per_page,
                                          **{k: v or None for k, v in chosen.items()})
        except DocumentInvalid as exc:
            found, error = {"members": [], "count": 0}, plain(exc.problems[0].message)
        shown = page_of(request, found["members"], found["count"], number, per_page)
        return page(request, "browse.html", principal=principal, nid=nid, found=found,
                    network=network, shown=shown, per_page=per_page,
                    chosen=chosen, error=error, **options)
    return guarded(request, work)


@router.get("/members.json")
def members_json(nid: str, request: Request, q: str = "",
                 limit: int = Query(PICKED, ge=1, le=MAX_PER_PAGE)) -> Response:
    """Members whose name, description or capability matches ``q`` (ids and names only, in id
    order): what a form's member field suggests as the reader types."""
    def work(principal: Principal) -> Response:
        found = members_api.get_members(nid, request, request.app.state.db, principal,
                                        sector=None, region=None, capability=None,
                                        q=q.strip() or None, limit=limit, offset=0)
        return JSONResponse({"count": found["count"], "members": [
            {"id": m["id"], "name": m["name"]} for m in found["members"]]})
    return guarded(request, work)


def _held(matcher: Any) -> dict[str, list[str]]:
    p = matcher.projection_
    live = sorted(p.member_index.values())
    columns = sorted(set(p.levels[live].nonzero()[1].tolist())) if live else []
    attrs = [p.ties.nodes[mid] for mid in p.member_index]
    return {"capabilities": sorted(p.capability_ids[j] for j in columns),
            "sectors": sorted({a["sector"] for a in attrs if a.get("sector")}),
            "regions": sorted({a["region"] for a in attrs if a.get("region")})}


def _browse_options(request: Request, nid: str) -> dict[str, list[str]]:
    """The filters' choices (public: capabilities held, sectors, regions), from the live
    matcher's projection rather than a second listing of every member on each request."""
    with request.app.state.matchers.reading(request.app.state.db, nid) as matcher:
        return _held(matcher)


@router.get("/members/{mid}")
def profile(nid: str, mid: str, request: Request, done: str | None = None) -> Response:
    def work(principal: Principal) -> Response:
        view = members_api.get_one(nid, mid, request.app.state.db, principal)
        own = principal.sees_weaknesses_of(nid, mid)
        return page(request, "profile.html", principal=principal, nid=nid, member=view, own=own,
                    notice=notice_for(done))
    return guarded(request, work)
