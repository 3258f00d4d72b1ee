import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request

from api.analyses import as_of_for
from api.deps import MANAGERS, Fresh, DbDep, PrincipalDep
from api.schemas import READS_ONLY, ValueChainRequest, error_responses
from api.security import Role, require_manager, require_roles
from graph.projects import collaboration_metrics
from graph.store import network_policy, read_network, read_value_chains
from graph.validation import DocumentInvalid, Problem
from matching.cross_training import cross_training
from matching.features import View
from matching.leaders import natural_leaders
from matching.metrics import network_metrics
from matching.pooling import DEFAULT_MAX_DISCOUNT, DiscountModel, buying_groups, shared_services
from matching.value_chain import Stage, UnknownCapability, assign_stages

router = APIRouter(prefix="/networks/{nid}", tags=["opportunities"],
                   responses=error_responses(401, 403, 404, 422, 503))



@router.get("/value-chain-templates")
def value_chain_templates(nid: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Value-chain templates stored with the network (facilitator, admin)."""
    require_manager(principal, nid)
    read_network(db, nid)
    return {"network": nid, "templates": read_value_chains(db, nid)}


@router.post("/value-chains", openapi_extra=READS_ONLY, dependencies=[MANAGERS])
def value_chains(nid: str, body: ValueChainRequest, request: Request, db: DbDep,
                 principal: PrincipalDep) -> dict[str, Any]:
    """Assign members to stages for the largest total fit (an exact integer program)."""
    require_manager(principal, nid)
    stages, per_member = body.stages, body.max_stages_per_member
    if body.template is not None:
        templates = {t["id"]: t for t in read_value_chains(db, nid)}
        if body.template not in templates:
            raise DocumentInvalid([Problem("template", f"no value chain template "
                                                       f"{body.template!r} in this network")])
        template = templates[body.template]
        stages, per_member = template["stages"], template["max_stages_per_member"]
        stages = [Stage(**s) for s in stages]
    elif stages is None:
        raise DocumentInvalid([Problem("stages", "give stages or a template")])
    else:
        stages = [Stage(**s.model_dump()) for s in stages]
    try:
        result, as_of = request.app.state.analyses.get(
            db, nid, ("value-chains", repr(stages), per_member),
            lambda m: assign_stages(m.features_, stages, max_stages_per_member=per_member))
    except UnknownCapability as exc:
        raise DocumentInvalid([Problem(exc.path, f"unknown capability {exc.capability!r}")]) from None
    return {**result.as_dict(), "as_of": as_of}


@router.get("/opportunities/purchasing")
def purchasing(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    full_at_members: int | None = Query(
        None, ge=2, le=1000, description="Group size at which the largest discount applies "
                                         "(default: the network policy's)"),
    discount: list[str] = Query([], description="Override a category's largest discount, "
                                                "e.g. discount=fuel:0.04 (repeatable), over the "
                                                "network policy's discounts"),
    fresh: bool = Fresh,
) -> dict[str, Any]:
    """Buying groups: members with purchase needs in one category, with the estimated saving;
    the discount model is the network policy's unless the query overrides it."""
    require_manager(principal, nid)
    policy = network_policy(db, nid)
    full_at_members = full_at_members or policy.full_at_members
    rates = {**DEFAULT_MAX_DISCOUNT, **policy.discounts}
    for i, item in enumerate(discount):
        category, _, value = item.partition(":")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not category or not 0 <= rate <= 1:
            raise DocumentInvalid([Problem(f"query.discount[{i}]", f"expected category:rate with "
                                                                  f"a rate in 0..1, got {item!r}")])
        rates[category] = rate
    model = DiscountModel(max_discount=rates, full_at_members=full_at_members)
    result, as_of = request.app.state.analyses.get(
        db, nid, ("purchasing", repr(sorted(rates.items())), full_at_members),
        lambda m: buying_groups(m.projection_, model), fresh=fresh)
    return {"network": nid, **result, "as_of": as_of,
            "model": {"max_discount": rates, "full_at_members": full_at_members}}


@router.get("/opportunities/shared-services")
def pooled_services(nid: str, request: Request, db: DbDep, principal: PrincipalDep,
                    fresh: bool = Fresh) -> dict[str, Any]:
    """Members needing the same service or know-how, with a provider inside or outside."""
    require_manager(principal, nid)
    result, as_of = request.app.state.analyses.get(
        db, nid, "shared-services", lambda m: shared_services(m.projection_), fresh=fresh)
    return {"network": nid, **result, "as_of": as_of}


@router.get("/opportunities/cross-training")
def cross_training_pairs(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    capacity: int | None = Query(None, ge=1, le=100, description="Mentees per mentor at most "
                                                                  "(default: the network policy's)"),
    fresh: bool = Fresh,
) -> dict[str, Any]:
    """Mentors strong in what others are weak in, as a min-cost flow (facilitator, admin: it
    names weaknesses)."""
    require_manager(principal, nid)
    capacity = capacity or network_policy(db, nid).training_capacity
    result, as_of = request.app.state.analyses.get(
        db, nid, ("cross-training", capacity),
        lambda m: cross_training(m.projection_, capacity=capacity), fresh=fresh)
    return {"network": nid, **result, "as_of": as_of}


@router.get("/leaders")
def leaders(nid: str, request: Request, db: DbDep, principal: PrincipalDep,
            limit: int = Query(5, ge=1, le=100), fresh: bool = Fresh) -> dict[str, Any]:
    """Natural leaders: trusted, bridging, capable (facilitator, admin, analyst)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    result, as_of = request.app.state.analyses.get(
        db, nid, ("leaders", limit), lambda m: natural_leaders(m.projection_, limit=limit),
        fresh=fresh)
    return {"network": nid, **result, **as_of_for(principal, nid, as_of)}


@router.get("/metrics")
def metrics(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    threshold: float = Query(0.2, ge=0, le=10, description="Score a useful suggestion reaches"),
    since: dt.date | None = Query(None, description="Ties from this date (YYYY-MM-DD)"),
    until: dt.date | None = Query(None, description="Ties up to this date (YYYY-MM-DD)"),
    fresh: bool = Fresh,
) -> dict[str, Any]:
    """The facilitator's dashboard figures (facilitator, admin, analyst; counts only).

    `since` must not be after `until` (422 otherwise)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    if since and until and since > until:
        raise DocumentInvalid([Problem("query.since", f"{since} is after until ({until})")])
    # Analysts read figures that no one's weaknesses shape; facilitators see the full ones.
    view = View.FACILITATOR if principal.manages(nid) else View.PUBLIC
    start, end = (since.isoformat() if since else None), (until.isoformat() if until else None)
    figures, as_of = request.app.state.analyses.get(
        db, nid, ("metrics", threshold, str(view), start, end),
        lambda m: (network_metrics(m.projection_, matcher=m, threshold=threshold, view=view,
                                   since=start, until=end), m.projection_.n_members),
        fresh=fresh)
    return {"network": nid, **figures[0], **collaboration_metrics(db, nid, figures[1]),
            **as_of_for(principal, nid, as_of)}
