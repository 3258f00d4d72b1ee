"""The facilitator's playbook: gather a network's opportunities and plan them as a roadmap.

Two views, both pure functions of the projection:

- the facilitator's (``member=None``): every opportunity, cross-training included (it reads
  weaknesses), the network's best pairs when given, and who is over-committed;
- a member's (``member=mid``): built from ``own_view``, so only that member's own weaknesses are
  read, from public data otherwise, and only the steps the member is in are returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matching.consortium import Order, OrderInvalid, form_consortia
from matching.cross_training import cross_training
from matching.features import NetworkFeatures
from matching.pooling import buying_groups, shared_services
from matching.projection import NetworkProjection
from matching.roadmap import (
    Plan,
    Step,
    committed_hours,
    holds,
    opportunity_steps,
    over_committed,
    own_view,
    plan_roadmap,
    public_plan,
)
from matching.value_chain import Stage, UnknownCapability, assign_stages


@dataclass
class PublicPart:
    """The part of a network's roadmap that reads no weakness and no project (buying groups,
    shared services and certifications, value chains) with its schedule: the same for the
    facilitator and every member, so computed once per state of the network."""

    steps: list[Step]
    plan: Plan | None  # None: each view schedules everything itself (the reference)


def public_part(projection: NetworkProjection, *, features: NetworkFeatures | None = None,
                templates: Sequence[Mapping[str, Any]] = (), plan: bool = True) -> PublicPart:
    """Pooling reads needs only and value chains the capabilities' coverage only (never a
    weakness: ``features`` may be a fitted matcher's). ``plan=False``: no shared schedule, each
    view schedules everything itself (the reference the shared one is tested against)."""
    p = projection
    chains = []
    if templates:
        features = features or NetworkFeatures(p)
        for template in templates:
            stages = [Stage(**s) for s in template["stages"]]
            try:
                result = assign_stages(features, stages,
                                       max_stages_per_member=template["max_stages_per_member"])
            except UnknownCapability:
                continue
            chains.append((template.get("name") or template["id"], result.as_dict()))
    steps = opportunity_steps(p, groups=buying_groups(p)["groups"],
                              services=shared_services(p)["services"], chains=chains)
    return PublicPart(steps, public_plan(p, steps) if plan else None)


def build_roadmap(projection: NetworkProjection, *, member: str | None = None,
                  features: NetworkFeatures | None = None,
                  templates: Sequence[Mapping[str, Any]] = (),
                  orders: Sequence[tuple[str, Order]] = (),
                  pairs: Sequence[Mapping[str, Any]] = (),
                  projects: Sequence[Mapping[str, Any]] = (),
                  public: PublicPart | None = None) -> dict[str, Any]:
    """The network's roadmap (``member=None``) or one member's part of it.

    ``templates`` are value-chain templates in the document format, ``orders`` named declared
    orders, ``pairs`` the best pairs (facilitator view only), ``projects`` the network's projects
    (running ones cover their step and take their members' hours). ``features`` may be passed to
    reuse a fitted matcher's. ``public``: ``public_part`` of the same projection and templates,
    computed once and shared by every view; a member's view then reschedules only what its own
    steps, orders and projects change (``plan_roadmap``'s ``base``).
    """
    public = public or public_part(projection, features=features, templates=templates)
    p = projection if member is None else own_view(projection, member)
    if member is not None:
        # A member reads its own projects only: others' commitments are not its to know.
        projects = [pr for pr in projects
                    if any(part["member"] == member for part in pr.get("members") or ())]
        pairs = ()
    committed = committed_hours(projects)
    if member is not None:
        committed = {member: committed.get(member, 0.0)} if member in committed else {}
    consortia = []
    for name, order in orders:
        try:
            consortia.append((name, form_consortia(p, order, alternatives=0,
                                                   committed=committed)))
        except OrderInvalid:
            continue
    training = cross_training(p)["pairs"]
    steps = public.steps + opportunity_steps(p, training=training, consortia=consortia,
                                             pairs=pairs)
    roadmap = plan_roadmap(p, steps, committed=committed, running=projects,
                           base=public.plan if member is not None else None, member=member)
    if member is None:
        roadmap["over_committed"] = over_committed(p, committed)
        return {"network": p.network.get("id"), **roadmap}
    mine = [s for s in roadmap["steps"] if holds(s, member)]
    return {"network": p.network.get("id"), "member": member,
            "first_step": roadmap["first_steps"].get(member), "steps": mine,
            "reason": roadmap["reason"]}
