"""Onboarding, for the network's facilitators: members added, edited and removed, a network
document imported, invitation codes issued and revoked, the network's policy.

Each form calls the JSON API's route function with the signed-in principal (``members``,
``networks``, ``invitations``), so what a facilitator may do here is what the API lets it do:
the introduction policy, for one, through ``PUT /networks/{nid}/policy``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.routers import invitations as invitations_api
from api.routers import members as members_api
from api.routers import networks as networks_api
from api.schemas import InvitationCreate
from api.security import Principal, require_manager
from api.web.collaboration_pages import member_names, member_picker, problems_of
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web import posted_json
from api.web.messages import plain
from api.web.paging import (MAX_PAGE, MAX_PER_PAGE, PER_PAGE, clamp, page_of, page_query, paginate,
                            per_page_query)
from api.web.render import error_page, guarded, page
from api.web.session import read_form
from graph.document import NetworkPolicy
from graph.members import MemberNotFound, get_member
from graph.validation import DocumentForbidden, DocumentInvalid

router = APIRouter(prefix="/n/{nid}")
FormDep = Annotated[dict[str, str], Depends(read_form)]
NEW_MEMBER_FIELDS = ("id", "name", "sector", "region", "contact")
POLICY_FIELDS = ("approval", "expiry_days", "suppress_declined_days")
DONE = {
    "added": N_("The member was added."),
    "removed": N_("The member was removed: its tokens and invitations no longer work."),
    "revoked": N_("The invitation was revoked: its code no longer works."),
    "policy": N_("The network's policy was saved."),
}


def _onboarding(request: Request, nid: str, principal: Principal, *, status_code: int = 200,
                notice: str | None = None, **forms: Any) -> Response:
    require_manager(principal, nid)
    db = request.app.state.db
    network = networks_api.get_network(nid, db, principal)
    policy = NetworkPolicy(**(network.get("policy") or {})).model_dump()
    context = {"new": {}, "new_errors": {}, "import_text": "", "import_problems": [],
               "import_result": None, "invited": None, "policy_values": policy,
               "policy_errors": {}, "invite_values": {}, "invite_errors": {}, **forms}
    query = request.query_params
    text = query.get("q", "").strip()[:200]
    per_page = _number(query.get("per_page"), PER_PAGE, MAX_PER_PAGE)
    number = _number(query.get("page"), 1, MAX_PAGE)
    found = members_api.get_members(nid, request, db, principal, sector=None, region=None,
                                    capability=None, q=text or None, limit=per_page,
                                    offset=(number - 1) * per_page)
    if not found["members"] and number > clamp(found["count"], number, per_page):
        number = clamp(found["count"], number, per_page)  # past the end: the last page
        found = members_api.get_members(nid, request, db, principal, sector=None, region=None,
                                        capability=None, q=text or None, limit=per_page,
                                        offset=(number - 1) * per_page)
    names = member_names(request, nid, principal)
    invitations = invitations_api.invitations(nid, db, principal, member=None)["invitations"]
    return page(request, "onboarding.html", status_code, principal=principal, nid=nid,
                network=network, notice=notice, text=text, per_page=per_page,
                members=page_of(request, found["members"], found["count"], number, per_page,
                                anchor="members"),
                names=names, picker=member_picker(request, nid, principal, names),
                invitations=paginate(request, invitations,
                                     _number(query.get("invitations_page"), 1, MAX_PAGE),
                                     per_page, name="invitations_page", anchor="invitations"),
                **context)


def _number(text: str | None, default: int, most: int) -> int:
    """A page number or size from the query, within 1..most (a bad one reads as the default):
    the page is also what a form post answers with, so its address is read, not declared."""
    try:
        return max(1, min(int(text or default), most))
    except ValueError:
        return default


@router.get("/onboarding")
def onboarding(nid: str, request: Request, done: str | None = None, q: str = "",
               page_number: int = page_query("page"), per_page: int = per_page_query(),
               invitations_page: int = page_query("invitations_page")) -> Response:
    """Members (searched, ``per_page`` at a time), invitations and the network's policy."""
    notice = _(DONE[done]) if done in DONE else None  # never text from the address
    return guarded(request, lambda p: _onboarding(request, nid, p, notice=notice))


@router.post("/onboarding/members")
def add_member(nid: str, request: Request, form: FormDep) -> Response:
    """A new member (validated like an import); the rest of its profile is edited on its page."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        new = {k: form.get(k, "").strip() for k in NEW_MEMBER_FIELDS}
        mid = new.pop("id")
        member = {k: v for k, v in new.items() if v}
        errors: dict[str, str] = {}
        try:
            get_member(request.app.state.db, nid, mid)
            errors["id"] = _("A member %(id)r already exists: edit it from the list below.") % {
                "id": mid}
        except MemberNotFound:
            pass
        if not mid:
            errors["id"] = _("Give the member an id (letters, digits, - and _).")
        if not errors:
            try:
                members_api.put_one(nid, mid, request.app.state.db, principal, member=member)
            except DocumentInvalid as exc:
                errors = {p["path"].split(".")[0].split("[")[0] or "id": plain(p["message"])
                          for p in exc.as_errors()}
        if errors:
            return _onboarding(request, nid, principal, status_code=422,
                               new={**new, "id": mid}, new_errors=errors)
        return RedirectResponse(f"/n/{nid}/home/{mid}?saved=1#profile", status_code=303)
    return guarded(request, work)


@router.post("/onboarding/members/{mid}/remove")
def remove_member(nid: str, mid: str, request: Request, form: FormDep) -> Response:
    """Remove a member, once the facilitator ticked the confirmation."""
    def work(principal: Principal) -> Response:
        if form.get("confirm") != "yes":
            return error_page(request, 422, _("Nothing was removed: tick the confirmation box "
                                              "next to the button."), principal)
        members_api.delete_one(nid, mid, request.app.state.db, principal)
        return RedirectResponse(f"/n/{nid}/onboarding?done=removed#members", status_code=303)
    return guarded(request, work)


@router.post("/onboarding/import")
def import_document(nid: str, request: Request, form: FormDep) -> Response:
    """Replace the network with a pasted JSON document; every problem is shown with its path."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        text = form.get("document", "")
        try:
            document = posted_json.loads(text)
        except json.JSONDecodeError as exc:
            problems = [{"path": "(document)", "message": _(
                "This is not JSON: %(error)s at line %(line)s, column %(column)s.") % {
                    "error": exc.msg, "line": exc.lineno, "column": exc.colno}}]
            return _onboarding(request, nid, principal, status_code=422, import_text=text,
                               import_problems=problems)
        if not isinstance(document, dict):
            problems = [{"path": "(document)",
                         "message": _("A network document is a JSON object.")}]
            return _onboarding(request, nid, principal, status_code=422, import_text=text,
                               import_problems=problems)
        try:
            result = networks_api.import_document(nid, request.app.state.db, principal,
                                                  document=document)
        except DocumentInvalid as exc:  # DocumentForbidden too: the entries it may not change
            return _onboarding(request, nid, principal,
                               status_code=403 if isinstance(exc, DocumentForbidden) else 422,
                               import_text=text, import_problems=[
                                   {**p, "message": plain(p["message"])} for p in exc.as_errors()])
        return _onboarding(request, nid, principal, import_result=result,
                           notice=_("The document was imported."))
    return guarded(request, work)


@router.post("/onboarding/invitations")
def invite(nid: str, request: Request, form: FormDep) -> Response:
    """A single-use invitation code for a member, shown once on the page that answers."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)  # before the form: 403 whatever it says
        days = form.get("days", "").strip()
        try:
            body = InvitationCreate.model_validate({"member": form.get("member", ""),
                                                    "days": days or None})
        except ValidationError as exc:  # the form again, as typed, each problem by its field
            problems = {p["path"].split(".")[0].split("[")[0] or "member": p["message"]
                        for p in problems_of(exc)}
            return _onboarding(request, nid, principal, status_code=422,
                               invite_values={"member": form.get("member", ""), "days": days},
                               invite_errors={k: plain(v) for k, v in problems.items()})
        made = invitations_api.create_invitation(nid, body, request.app.state.db, principal)
        return _onboarding(request, nid, principal, status_code=201, invited=made)
    return guarded(request, work)


@router.post("/onboarding/invitations/{iid}/revoke")
def revoke(nid: str, iid: str, request: Request, form: FormDep) -> Response:
    def work(principal: Principal) -> Response:
        invitations_api.delete_invitation(nid, iid, request.app.state.db, principal)
        return RedirectResponse(f"/n/{nid}/onboarding?done=revoked#invitations",
                                status_code=303)
    return guarded(request, work)


@router.post("/onboarding/policy")
def set_policy(nid: str, request: Request, form: FormDep) -> Response:
    """The introduction policy (approval, expiry, suppression of declined pairs), through the
    API's ``PUT /networks/{nid}/policy``; the other settings are kept as they are."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        values = {k: form.get(k, "").strip() for k in POLICY_FIELDS}
        try:
            policy = NetworkPolicy.model_validate(values)
        except ValidationError as exc:
            network = networks_api.get_network(nid, request.app.state.db, principal)
            current = NetworkPolicy(**(network.get("policy") or {})).model_dump()
            errors = {p["path"]: p["message"] for p in problems_of(exc)}
            return _onboarding(request, nid, principal, status_code=422,
                               policy_values={**current, **values}, policy_errors=errors)
        networks_api.put_policy(nid, policy, request.app.state.db, principal)
        return RedirectResponse(f"/n/{nid}/onboarding?done=policy#policy", status_code=303)
    return guarded(request, work)
