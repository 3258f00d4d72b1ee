"""The facilitator's page of rivalries: who the engine treats as rivals and why, and the forms
that confirm, reject or withdraw a verdict (``api.routers.rivalries`` with the session's
principal: the role rules and refusals are the API's)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.routers import networks as networks_api
from api.routers import rivalries as rivalries_api
from api.schemas import RivalryVerdictPut
from api.security import Principal, require_manager
from api.web.collaboration_pages import member_picker, problems_of
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web.paging import clamp, page_of, page_query, per_page_query
from api.web.render import error_page, guarded, page
from api.web.session import read_form
from graph.document import IDENTIFIER

router = APIRouter(prefix="/n/{nid}")
FormDep = Annotated[dict[str, str], Depends(read_form)]
DONE = {  # what a redirect's ``done`` says: fixed sentences, never text from the address
    "rivals": N_("The two members now count as rivals."),
    "not_rivals": N_("The two members no longer count as rivals."),
    "clear": N_("The verdict was withdrawn: the engine infers rivalry for the pair again."),
}


@router.get("/rivalries")
def rivalries(nid: str, request: Request, page_number: int = page_query("page"),
              per_page: int = per_page_query(), done: str | None = None,
              member: str | None = Query(None, max_length=200)) -> Response:
    """Rival pairs, inferred or given (only ``member``'s when one is chosen), ``per_page`` at a
    time, with the forms to confirm or reject them."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        db = request.app.state.db
        number, chosen = page_number, member or None
        found = rivalries_api.list_rivalries(nid, request, db, principal,
                                             offset=(number - 1) * per_page, limit=per_page,
                                             member=chosen)
        if not found["rivalries"] and number > clamp(found["count"], number, per_page):
            number = clamp(found["count"], number, per_page)  # past the end: the last page
            found = rivalries_api.list_rivalries(nid, request, db, principal,
                                                 offset=(number - 1) * per_page, limit=per_page,
                                                 member=chosen)
        shown = page_of(request, found["rivalries"], found["count"], number, per_page,
                        anchor="rivalries-h")
        return page(request, "rivalries.html", principal=principal, nid=nid,
                    network=networks_api.get_network(nid, db, principal), found=found,
                    shown=shown, per_page=per_page, member=chosen,
                    picker=member_picker(request, nid, principal),
                    notice=_(DONE[done]) if done in DONE else None)
    return guarded(request, work)


@router.post("/rivalries")
def judge(nid: str, request: Request, form: FormDep) -> Response:
    """Give (``rivals``, ``not_rivals``) or withdraw (``clear``) a verdict on members a and b."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        db = request.app.state.db
        a, b, verdict = form.get("a", ""), form.get("b", ""), form.get("verdict", "")
        if verdict == "clear":
            rivalries_api.delete_verdict(nid, a, b, db, principal)
        else:
            try:
                body = RivalryVerdictPut.model_validate(
                    {"verdict": verdict, "note": form.get("note", "").strip() or None})
            except ValidationError as exc:
                return error_page(request, 422, _("Nothing was saved: check these fields."),
                                  principal, problems_of(exc))
            rivalries_api.put_verdict(nid, a, b, body, request, db, principal)
        # Back to the page the form was on (numbers only: nothing typed is echoed).
        shown = {k: form[k] for k in ("page", "per_page") if form.get(k, "").isdigit()}
        if IDENTIFIER.fullmatch(form.get("member", "")):  # the list's filter, kept
            shown["member"] = form["member"]
        back = f"/n/{nid}/rivalries?{urlencode({**shown, 'done': verdict})}"
        return RedirectResponse(back + "#rivalries-h", status_code=303)
    return guarded(request, work)
