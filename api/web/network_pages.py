"""The facilitator's dashboard and the analysts' exports (every table in pages: api.web.paging;
the network picture drawn in the browser: api.web.picture_pages).

Every figure comes from the API's route functions called with the signed-in principal, so the
dashboard is the managers' (it names weaknesses, in cross-training) and exports follow the API.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.routers import collaboration as collaboration_api
from api.routers import networks as networks_api
from api.routers import opportunities as opportunities_api
from api.routers import playbook as playbook_api
from api.schemas import ConsortiumRequest, ValueChainRequest
from api.security import Principal, Role, require_manager, require_roles
from api.web.collaboration_pages import member_names, notice_for, opportunity_projects
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web.paging import MAX_PER_PAGE, PER_PAGE, paginate
from api.web.render import guarded, page
from api.web.session import read_form
from graph.document import NetworkPolicy
from graph.export_formats import FORMATS
from graph.store import read_orders
from graph.validation import DocumentInvalid, Problem
from matching.workflow import IntroStatus

router = APIRouter(prefix="/n/{nid}")
GROUPS_PER_PAGE = 10
FormDep = Annotated[dict[str, str], Depends(read_form)]
GRAPH_FORMATS = {"gexf": "GEXF", "graphml": "GraphML", "cytoscape": "Cytoscape"}
FORMAT_NAMES = {"json": N_("JSON document"), "gexf": N_("GEXF (Gephi)"),
                "graphml": N_("GraphML (yEd)"), "cytoscape": N_("Cytoscape JSON"),
                "csv": N_("CSV tables (zip)"), "png": N_("PNG picture"),
                "svg": N_("SVG picture")}  # translated where shown


def _figures(request: Request, nid: str, principal: Principal) -> dict[str, Any]:
    return opportunities_api.metrics(nid, request, request.app.state.db, principal,
                                     threshold=0.2, since=None, until=None, fresh=False)


def _whole(text: str, low: int, high: int, default: int) -> tuple[int, str | None]:
    try:
        value = int(text.strip())
    except ValueError:
        return default, _("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
    if not low <= value <= high:
        return default, _("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
    return value, None


def _opportunity_settings(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed opportunity settings as the network policy's (bounds as the policy's), and
    what is wrong with each field."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {}
    for name, field, low, high in (("training_capacity", "capacity", 1, 100),
                                   ("full_at_members", "full_at_members", 2, 1000)):
        settings[name], problem = _whole(form.get(field, ""), low, high, 0)
        if problem:
            errors[field] = problem
    discounts: dict[str, Any] = {}
    for item in (i.strip() for i in form.get("discount", "").split(",")):
        category, _sep, rate = item.partition(":")
        if item:
            discounts[category.strip()] = rate.strip()
    try:
        settings["discounts"] = NetworkPolicy.model_validate({"discounts": discounts}).discounts
    except ValidationError:
        errors["discount"] = _("Write category:rate items separated by commas, each rate from 0 "
                               "to 1 (e.g. fuel:0.04, energy:0.06).")
    return settings, errors


def _typed(policy: NetworkPolicy) -> dict[str, str]:
    """The stored settings as the form shows them."""
    return {"capacity": str(policy.training_capacity),
            "full_at_members": str(policy.full_at_members),
            "discount": ", ".join(f"{c}:{r:g}" for c, r in sorted(policy.discounts.items()))}


@router.get("/dashboard")
def dashboard(nid: str, request: Request, template: str | None = None,
              order: str | None = None, done: str | None = None) -> Response:
    """The facilitator's dashboard; the opportunities follow the network policy's settings."""
    return guarded(request, lambda principal: _dashboard(
        request, nid, principal, template, order, notice=notice_for(done)))


@router.post("/dashboard/settings")
def save_settings(nid: str, request: Request, form: FormDep) -> Response:
    """Store the cross-training capacity and the buying-group discount model in the network's
    policy (through the API's ``PUT /networks/{nid}/policy``), then show the dashboard."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        settings, errors = _opportunity_settings(form)
        if errors:
            typed = {k: form.get(k, "") for k in ("capacity", "full_at_members", "discount")}
            return _dashboard(request, nid, principal, None, None, status_code=422,
                              typed=typed, errors=errors)
        networks_api.put_policy(nid, NetworkPolicy(**settings), request.app.state.db, principal)
        return RedirectResponse(f"/n/{nid}/dashboard?done=settings#opp-h", status_code=303)
    return guarded(request, work)


def _dashboard(request: Request, nid: str, principal: Principal, template: str | None,
               order: str | None, *, notice: str | None = None, status_code: int = 200,
               typed: dict[str, str] | None = None, errors: dict[str, str] | None = None
               ) -> Response:
    require_manager(principal, nid)
    db = request.app.state.db
    api = opportunities_api
    network = networks_api.get_network(nid, db, principal)
    policy = NetworkPolicy(**(network.get("policy") or {}))
    purchasing = api.purchasing(nid, request, db, principal, full_at_members=None,
                                discount=[], fresh=False)
    services = api.pooled_services(nid, request, db, principal, fresh=False)
    training = api.cross_training_pairs(nid, request, db, principal, capacity=None, fresh=False)
    queue = collaboration_api.introductions(nid, db, principal,
                                            status=IntroStatus.PENDING_APPROVAL)
    chain, chain_error = None, None
    if template:
        try:
            chain = api.value_chains(nid, ValueChainRequest(template=template), request, db,
                                     principal)
        except (DocumentInvalid, ValueError) as exc:
            chain_error = (exc.problems[0].message if isinstance(exc, DocumentInvalid)
                           else _("Choose a template."))
    names = member_names(request, nid, principal)
    roadmap = playbook_api.roadmap_for(request, db, nid, None)
    leaders = api.leaders(nid, request, db, principal, limit=100, fresh=False)
    gaps = playbook_api.gaps(nid, request, db, principal, fresh=False)["gaps"]
    per_page = _number(request, "per_page", PER_PAGE, MAX_PER_PAGE)

    def cut(name: str, anchor: str, rows: list[Any], most: int = MAX_PER_PAGE) -> Any:
        return paginate(request, rows, _number(request, f"{name}_page", 1, 100_000),
                        min(per_page, most), name=f"{name}_page", anchor=anchor)

    pages = {"members": cut("members", "members-h", sorted(
                 names.items(), key=lambda kv: (kv[1].casefold(), kv[0]))),
             # a group's or service's project lists its members: fewer a page
             "groups": cut("groups", "buying", purchasing["groups"], GROUPS_PER_PAGE),
             "services": cut("services", "services", services["services"], GROUPS_PER_PAGE),
             "training": cut("training", "training", training["pairs"]),
             "unmet": cut("unmet", "unmet", training.get("unmet") or []),
             "roadmap": cut("roadmap", "roadmap", roadmap["steps"]),
             "gaps": cut("gaps", "gaps", gaps), "leaders": cut("leaders", "leaders-h",
                                                                leaders["leaders"])}
    # The projects the "start a project" buttons post, for the rows shown only.
    shown, shown_services, shown_training, chain = opportunity_projects(
        {"groups": list(pages["groups"].rows)}, {"services": list(pages["services"].rows)},
        {"pairs": list(pages["training"].rows)}, chain, template)
    pages["groups"] = dataclasses.replace(pages["groups"], rows=shown["groups"])
    pages["services"] = dataclasses.replace(pages["services"], rows=shown_services["services"])
    pages["training"] = dataclasses.replace(pages["training"], rows=shown_training["pairs"])
    return page(
        request, "dashboard.html", status_code, principal=principal, nid=nid,
        approvals=queue["introductions"], notice=notice,
        typed=typed or _typed(policy), setting_errors=errors or {}, network=network,
        figures=_figures(request, nid, principal), names=names, pages=pages,
        purchasing=purchasing, services=services, training=training,
        templates=api.value_chain_templates(nid, db, principal)["templates"],
        template=template, chain=chain, chain_error=chain_error,
        roadmap=roadmap, gaps=gaps,
        orders=read_orders(db, nid), order=order,
        consortium=_consortium(request, nid, principal, order))


def _number(request: Request, name: str, default: int, most: int) -> int:
    """A page number or size from the query, within 1..most (a bad one reads as the default)."""
    try:
        return max(1, min(int(request.query_params.get(name, default)), most))
    except ValueError:
        return default


def _consortium(request: Request, nid: str, principal: Principal, order: str | None
                ) -> dict[str, Any] | None:
    """The best consortium for one of the network's declared orders, when one is chosen."""
    if not order:
        return None
    db = request.app.state.db
    declared = {o["id"]: o for o in read_orders(db, nid)}
    if order not in declared:
        raise DocumentInvalid([Problem("order", f"no declared order {order!r} in this network")])
    body = ConsortiumRequest.model_validate({k: declared[order][k] for k in declared[order]
                                             if k in ConsortiumRequest.model_fields})
    try:
        return playbook_api.consortia(nid, body, request, db, principal)
    except DocumentInvalid as exc:  # e.g. the lead has no time left: said next to the form
        return {"error": exc.problems[0].message}


@router.get("/agents")
def agents(nid: str, request: Request) -> Response:
    """The network's outside agents: who can be brought in, and what they offer."""
    def work(principal: Principal) -> Response:
        db = request.app.state.db
        return page(request, "agents.html", principal=principal, nid=nid,
                    network=networks_api.get_network(nid, db, principal),
                    agents=playbook_api.agents(nid, db, principal)["agents"])
    return guarded(request, work)


@router.get("/exports")
def exports(nid: str, request: Request) -> Response:
    def work(principal: Principal) -> Response:
        require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
        db = request.app.state.db
        return page(request, "exports.html", principal=principal, nid=nid,
                    network=networks_api.get_network(nid, db, principal),
                    figures=_figures(request, nid, principal),
                    formats=FORMAT_NAMES, pictures=("png", "svg"),
                    extensions={f: ext for f, (_, ext) in FORMATS.items()},
                    graph_formats=GRAPH_FORMATS)
    return guarded(request, work)


@router.get("/export/{fmt}")
def download(nid: str, fmt: str, request: Request,
             include: Literal["capabilities"] | None = None) -> Response:
    """The API's export, with the session's principal instead of a bearer header."""
    def work(principal: Principal) -> Response:
        if fmt not in FORMATS:
            raise HTTPException(404, _("There is no export format %(format)r.") % {"format": fmt})
        answer = networks_api.export(nid, request, request.app.state.db, principal,
                                     format=fmt, include=include)  # type: ignore[arg-type]
        if answer.status_code == 202:  # a big network's picture: follow its progress
            return RedirectResponse(f"/n/{nid}/export-jobs/{fmt}", status_code=303)
        return answer
    return guarded(request, work)
