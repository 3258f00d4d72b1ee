from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status

from api.deps import ADMINS, MANAGERS, DbDep, PrincipalDep
from api.limits import large_body
from api.schemas import (ErrorResponse, ImportResult, NetworkPublic, NetworkUpdate,
                         error_responses)
from api.export_jobs import PICTURE_FORMATS
from api.routers import pictures
from api.security import Role, forbidden, require_manager, require_network, require_roles
from graph.document import IDENTIFIER, Network, NetworkPolicy
from graph.export_formats import FORMATS, render
from graph.members import set_network_policy, upsert_network
from graph.store import (delete_network, export_network, import_network, list_networks,
                         read_network)
from graph.validation import DocumentInvalid, Problem

router = APIRouter(prefix="/networks", tags=["networks"],
                   responses=error_responses(401, 403, 404, 422))

ExportFormat = Literal["json", "gexf", "graphml", "cytoscape", "csv", "png", "svg"]
WITH_CAPABILITY_NODES = ("gexf", "graphml", "cytoscape")  # the formats ``include`` changes
# How long access lasts is an administrator's: a facilitator could otherwise lengthen the life
# of its own tokens (docs/security.md).
ADMIN_SETTINGS = frozenset({"member_token_days", "analyst_token_days", "facilitator_token_days",
                            "invitation_days"})


@router.get("", response_model=list[NetworkPublic])
def get_networks(db: DbDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The networks this token may see (all for admins)."""
    return [n for n in list_networks(db) if principal.in_network(n["id"])]


@router.get("/{nid}", response_model=NetworkPublic)
def get_network(nid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """One network's description."""
    require_network(principal, nid)
    return read_network(db, nid)


@router.put("/{nid}", response_model=NetworkPublic, responses={422: {"model": ErrorResponse}},
            dependencies=[ADMINS])
def put_network(nid: str, body: NetworkUpdate, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create or describe a network (admin)."""
    if not principal.is_admin:
        raise forbidden("only admins create or change networks")
    if not IDENTIFIER.fullmatch(nid):
        raise DocumentInvalid([Problem("path.nid", "a network id is 1-100 ASCII letters, digits "
                                       "and _ . : - starting with a letter or digit")])
    if body.id is not None and body.id != nid:
        raise DocumentInvalid([Problem("id", f"is {body.id!r} but the address names {nid!r}")])
    clash = [n["id"] for n in list_networks(db) if n["id"] != nid and
             n["id"].casefold() == nid.casefold()]
    if clash:
        raise DocumentInvalid([Problem("path.nid", f"differs from the network {clash[0]!r} only "
                                                   "in case")])
    return upsert_network(db, Network(**body.model_dump(exclude={"id"}), id=nid))


@router.put("/{nid}/policy", response_model=NetworkPublic, dependencies=[MANAGERS],
            responses={422: {"model": ErrorResponse}})
def put_policy(nid: str, body: NetworkPolicy, db: DbDep, principal: PrincipalDep
               ) -> dict[str, Any]:
    """Change the policy settings given, keep the others (facilitator, admin): introductions'
    approval, expiry and suppression, cross-training capacity, buying-group discount model.
    Token and invitation lives are an admin's."""
    require_manager(principal, nid)
    given = body.model_dump(include=body.model_fields_set)
    reserved = sorted(ADMIN_SETTINGS & given.keys())
    if reserved and not principal.is_admin:
        raise forbidden(f"only admins change {', '.join(reserved)}")
    return set_network_policy(db, nid, given)


@router.delete("/{nid}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def remove_network(nid: str, request: Request, db: DbDep, principal: PrincipalDep) -> Response:
    """Delete a network and everything in it: members, ties, decisions, projects,
    introductions, its tokens and invitations, agents, orders, its own capabilities (admin).
    Cannot be undone: export it first to keep a copy."""
    if not principal.is_admin:
        raise forbidden("only admins delete networks")
    delete_network(db, nid)
    request.app.state.matchers.forget(nid)
    request.app.state.analyses.forget(nid)
    request.app.state.export_jobs.forget(nid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{nid}/import", response_model=ImportResult, dependencies=[MANAGERS],
             responses={422: {"model": ErrorResponse}})
@large_body
def import_document(
    nid: str, db: DbDep, principal: PrincipalDep,
    document: dict[str, Any] = Body(description="A network document (docs/format.md)"),
) -> dict[str, Any]:
    """Validate a whole network document, then replace the network with it in one transaction.

    Capabilities the document defines are the network's own; shared ones may be repeated, not
    changed. Only an admin's import may change the network's name, description or policy."""
    require_manager(principal, nid)
    return import_network(db, document, expected_id=nid, describe=principal.is_admin).as_dict()


@router.get("/{nid}/export", response_class=Response,
            responses={200: {"content": {media: {} for media, _ in FORMATS.values()}},
                       202: {"description": "A big network's PNG or SVG is being drawn in "
                                            "the background: see Location"},
                       422: {"model": ErrorResponse}})
def export(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    format: ExportFormat = Query("json", description="File format"),
    include: Literal["capabilities"] | None = Query(
        None, description="Also write capabilities as nodes (gexf, graphml, cytoscape)"),
) -> Response:
    """The network for analysis tools; weaknesses only for facilitators and admins.

    A PNG or SVG of a network of more than 300 members is drawn in the background: the answer
    is then 202 with the job's state and its address in ``Location``; once drawn, this same
    request answers the file."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    if format in PICTURE_FORMATS:  # a big network's picture is drawn in the background
        drawn = pictures.picture_export(request, db, nid, format)
        if drawn is not None:
            return drawn
    document = export_network(db, nid, include_confidential=principal.manages(nid))
    media_type, extension = FORMATS[format]
    with_capabilities = include == "capabilities" and format in WITH_CAPABILITY_NODES
    content = render(document, format, include_capabilities=with_capabilities)
    # Another content, another file name: saving both must not overwrite one with the other.
    name = f"{nid}-capabilities" if with_capabilities else nid
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}.{extension}"'})
