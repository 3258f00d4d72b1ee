"""The facilitator's playbook: gather a network's opportunities and plan them as a roadmap.

Two views, both pure functions of the projection:

- the facilitator's (``member=None``): every opportunity, cross-training included (it reads
  weaknesses), the network's best pairs when given, and who is over-committed;
- a member's (``member=mid``): built from ``own_view``, so only that member's own weaknesses are
  read, from public data otherwise, and only the steps the member is in are returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matching.consortium import Order, OrderInvalid, form_consortia
from matching.cross_training import cross_training
from matching.features import NetworkFeatures
from matching.pooling import buying_groups, shared_services
from matching.projection import NetworkProjection
from matching.roadmap import (
    committed_hours,
    opportunity_steps,
    over_committed,
    own_view,
    plan_roadmap,
)
from matching.value_chain import Stage, UnknownCapability, assign_stages


def build_roadmap(projection: NetworkProjection, *, member: str | None = None,
                  features: NetworkFeatures | None = None,
                  templates: Sequence[Mapping[str, Any]] = (),
                  orders: Sequence[tuple[str, Order]] = (),
                  pairs: Sequence[Mapping[str, Any]] = (),
                  projects: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The network's roadmap (``member=None``) or one member's part of it.

    ``templates`` are value-chain templates in the document format, ``orders`` named declared
    orders, ``pairs`` the best pairs (facilitator view only), ``projects`` the network's projects
    (running ones cover their step and take their members' hours). ``features`` may be passed to
    reuse a fitted matcher's; it is rebuilt on a member's own view.
    """
    p = projection if member is None else own_view(projection, member)
    if member is not None:
        # A member reads its own projects only: others' commitments are not its to know.
        projects = [pr for pr in projects
                    if any(part["member"] == member for part in pr.get("members") or ())]
        pairs = ()
        features = None
    committed = committed_hours(projects)
    if member is not None:
        committed = {member: committed.get(member, 0.0)} if member in committed else {}
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
    consortia = []
    for name, order in orders:
        try:
            consortia.append((name, form_consortia(p, order, alternatives=0,
                                                   committed=committed)))
        except OrderInvalid:
            continue
    training = cross_training(p)["pairs"]
    steps = opportunity_steps(p, groups=buying_groups(p)["groups"],
                              services=shared_services(p)["services"], training=training,
                              chains=chains, consortia=consortia, pairs=pairs)
    roadmap = plan_roadmap(p, steps, committed=committed, running=projects)
    if member is None:
        roadmap["over_committed"] = over_committed(p, committed)
        return {"network": p.network.get("id"), **roadmap}
    mine = [s for s in roadmap["steps"] if member in s["members"]]
    return {"network": p.network.get("id"), "member": member,
            "first_step": roadmap["first_steps"].get(member), "steps": mine,
            "reason": roadmap["reason"]}
