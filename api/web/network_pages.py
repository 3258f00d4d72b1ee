"""The facilitator's dashboard, the analysts' exports and the clickable network picture.

Every figure comes from the API's route functions called with the signed-in principal, so the
dashboard is the managers' (it names weaknesses, in cross-training) and exports follow the API.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from api.routers import collaboration as collaboration_api
from api.routers import networks as networks_api
from api.routers import opportunities as opportunities_api
from api.routers import playbook as playbook_api
from api.schemas import ConsortiumRequest, ValueChainRequest
from api.security import Principal, Role, require_manager, require_roles
from api.web.collaboration_pages import notice_for, opportunity_projects
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web.messages import plain
from api.web.picture import clickable_svg
from api.web.render import guarded, page
from graph.export_formats import FORMATS
from graph.store import export_network, network_version, read_orders
from graph.validation import DocumentInvalid, Problem
from matching.workflow import IntroStatus

router = APIRouter(prefix="/n/{nid}")
GRAPH_FORMATS = {"gexf": "GEXF", "graphml": "GraphML", "cytoscape": "Cytoscape"}
FORMAT_NAMES = {"json": N_("JSON document"), "gexf": N_("GEXF (Gephi)"),
                "graphml": N_("GraphML (yEd)"), "cytoscape": N_("Cytoscape JSON"),
                "csv": N_("CSV tables (zip)"), "png": N_("PNG picture"),
                "svg": N_("SVG picture")}  # translated where shown


def _picture(request: Request, nid: str, principal: Principal) -> str:
    """Same rule as the picture export; managers' members link to their suggestions."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    db = request.app.state.db
    document = export_network(db, nid, include_confidential=False)
    if principal.manages(nid):
        return clickable_svg(document, network_version(db, nid), "home",
                             lambda mid: f"/n/{nid}/home/{mid}#suggestions")
    return clickable_svg(document, network_version(db, nid), "profile",
                         lambda mid: f"/n/{nid}/members/{mid}")


def _figures(request: Request, nid: str, principal: Principal) -> dict[str, Any]:
    return opportunities_api.metrics(nid, request, request.app.state.db, principal,
                                     threshold=0.2, since=None, until=None, fresh=False)


def _names(request: Request, nid: str) -> dict[str, str]:
    with request.app.state.matchers.reading(request.app.state.db, nid) as matcher:
        p = matcher.projection_
        return {mid: p.ties.nodes[mid].get("name") or mid for mid in p.member_index}


def _whole(text: str, low: int, high: int, default: int) -> tuple[int, str | None]:
    try:
        value = int(text.strip())
    except ValueError:
        return default, _("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
    if not low <= value <= high:
        return default, _("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
    return value, None


def _opportunity_settings(capacity: str, full_at_members: str, discount: str
                          ) -> tuple[dict[str, Any], dict[str, str]]:
    """The dashboard's opportunity settings as the API's parameters (bounds as the API's), and
    what is wrong with the typed ones (the defaults stand in for them)."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {"rates": [item.strip() for item in discount.split(",")
                                          if item.strip()]}
    for name, text, low, high, default in (("capacity", capacity, 1, 100, 3),
                                           ("full_at_members", full_at_members, 2, 1000, 10)):
        settings[name], problem = _whole(text, low, high, default)
        if problem:
            errors[name] = problem
    return settings, errors


@router.get("/dashboard")
def dashboard(nid: str, request: Request, template: str | None = None,
              order: str | None = None, done: str | None = None,
              capacity: str = "3", full_at_members: str = "10",
              discount: str = Query("", max_length=2000)) -> Response:
    """The facilitator's dashboard; ``capacity`` (mentees per mentor), ``full_at_members`` and
    ``discount`` (``category:rate`` items, comma-separated) are the API's parameters of the
    cross-training and buying-group opportunities."""
    def work(principal: Principal) -> Response:
        require_manager(principal, nid)
        db = request.app.state.db
        api = opportunities_api
        settings, errors = _opportunity_settings(capacity, full_at_members, discount)
        try:
            purchasing = api.purchasing(nid, request, db, principal,
                                        full_at_members=settings["full_at_members"],
                                        discount=settings["rates"], fresh=False)
        except DocumentInvalid as exc:  # the API's check of each rate, said next to the form
            errors["discount"] = plain(exc.problems[0].message)
            purchasing = api.purchasing(nid, request, db, principal,
                                        full_at_members=settings["full_at_members"], discount=[],
                                        fresh=False)
        services = api.pooled_services(nid, request, db, principal, fresh=False)
        training = api.cross_training_pairs(nid, request, db, principal,
                                            capacity=settings["capacity"], fresh=False)
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
        purchasing, services, training, chain = opportunity_projects(
            purchasing, services, training, chain, template)
        return page(
            request, "dashboard.html", principal=principal, nid=nid,
            approvals=queue["introductions"], notice=notice_for(done),
            typed={"capacity": capacity, "full_at_members": full_at_members,
                   "discount": discount}, setting_errors=errors,
            network=networks_api.get_network(nid, db, principal),
            figures=_figures(request, nid, principal), names=_names(request, nid),
            picture=_picture(request, nid, principal),
            purchasing=purchasing, services=services, training=training,
            leaders=api.leaders(nid, request, db, principal, limit=5, fresh=False),
            templates=api.value_chain_templates(nid, db, principal)["templates"],
            template=template, chain=chain, chain_error=chain_error,
            roadmap=playbook_api.roadmap_for(request, db, nid, None),
            gaps=playbook_api.gaps(nid, request, db, principal)["gaps"],
            orders=read_orders(db, nid), order=order,
            consortium=_consortium(request, nid, principal, order))
    return guarded(request, work)


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
                    picture=_picture(request, nid, principal), formats=FORMAT_NAMES,
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
        return networks_api.export(nid, request.app.state.db, principal, format=fmt,
                                   include=include)
    return guarded(request, work)
