"""A roadmap that starts small: the network's opportunities as steps, quick low-trust wins first.

"Obtain small initial successes that enforce confidence"; "start with small projects and end with
big ones". Each opportunity (a buying group, a shared service or certification, cross-training,
a pair, a consortium, a value chain) becomes a step with its benefit, members, the trust it needs,
its depth of integration and the hours a month it asks of each member. Steps are ordered by
depth (rivals in core business count one deeper), then by how fast they pay, and scheduled month
by month so that nobody is asked for more hours than they stated (``hours_per_month``).

Weaknesses are read only through ``cross_training``: a member's own roadmap is built from a
projection holding that member's weaknesses alone (``own_view``), so it never depends on others'.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.agents import AgentDirectory
from matching.projection import NetworkProjection
from matching.rivalry import rival_pairs

POSITIVE_TIES = frozenset({"TRUSTS", "COLLABORATES_WITH", "SUPPLIES"})
HORIZON_MONTHS = 48
TRUST_MONTHS = 3  # working together this long builds the ties a deeper step needs
ACTIVE_PHASES = frozenset({"shared_goals", "design", "implementation"})


@dataclass(frozen=True)
class StepKind:
    depth: int
    depth_label: str
    months: int
    member_hours: float  # a month, for each member
    lead_hours: float  # a month, for the lead, provider or mentor


KINDS: dict[str, StepKind] = {
    "buying_group": StepKind(1, "joint purchase", 3, 1.0, 3.0),
    "shared_service": StepKind(2, "shared service", 4, 2.0, 4.0),
    "cross_training": StepKind(2, "cross-training", 6, 3.0, 2.0),
    "pair": StepKind(2, "pair collaboration", 3, 3.0, 3.0),
    "shared_certification": StepKind(3, "shared certification", 9, 4.0, 6.0),
    "consortium": StepKind(3, "consortium for an order", 6, 4.0, 8.0),
    "value_chain": StepKind(4, "value chain", 12, 6.0, 8.0),
}
# What running projects of each kind ask (project kinds of graph.document.ProjectKind).
PROJECT_KINDS = {"buying_group": "buying_group", "shared_service": "shared_service",
                 "cross_training": "cross_training", "value_chain": "value_chain",
                 "pair": "pair", "consortium": "consortium", "other": "shared_service"}


def committed_hours(projects: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Hours a month each member already gives to running projects (phases shared goals, design,
    implementation), by the project's kind and the member's role (the lead asks more)."""
    hours: dict[str, float] = {}
    for project in projects:
        if project.get("phase") not in ACTIVE_PHASES:
            continue
        kind = KINDS[PROJECT_KINDS.get(project.get("kind") or "other", "shared_service")]
        for part in project.get("members") or ():
            mid = part["member"]
            ask = kind.lead_hours if mid == project.get("lead") else kind.member_hours
            hours[mid] = hours.get(mid, 0.0) + ask
    return hours


def over_committed(projection: NetworkProjection, committed: Mapping[str, float]
                   ) -> list[dict[str, Any]]:
    """Members whose running projects ask more hours a month than they stated (facilitators)."""
    out = []
    for mid, stated in zip(projection.member_ids, projection.hours.tolist()):
        asked = committed.get(mid, 0.0)
        if not np.isnan(stated) and asked > stated:
            out.append({"member": mid, "name": _name(projection, mid), "hours_per_month": stated,
                        "committed": asked, "over_by": round(asked - stated, 2)})
    return sorted(out, key=lambda e: (-e["over_by"], e["member"]))


def own_view(projection: NetworkProjection, mid: str) -> NetworkProjection:
    """The projection with every weakness but ``mid``'s own removed: what ``mid``'s roadmap may
    read (non-interference: other members' weaknesses never reach it)."""
    i = projection.member_index[mid]
    mask = sp.csr_array((np.ones(1), ([i], [i])), shape=(projection.n_members,) * 2)
    return replace(projection, severities=sp.csr_array(mask @ projection.severities))


@dataclass
class Step:
    """One step of the roadmap (plain data, see ``as_dict``)."""

    id: str
    kind: str
    title: str
    members: list[str]
    lead: str | None = None
    benefit: float | None = None  # EUR a year, where known
    member_benefit: dict[str, float] = field(default_factory=dict)
    essential: set[str] = field(default_factory=set)  # without them the step cannot run
    core_business: bool = False  # rivals in it would share their core offer
    core_member: str | None = None  # only rivals of this member count (a service's provider)
    agents: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    volumes: dict[str, float] = field(default_factory=dict)

    @property
    def spec(self) -> StepKind:
        return KINDS[self.kind]


def _name(p: NetworkProjection, mid: str) -> str:
    return p.ties.nodes[mid].get("name") or mid


def _label(p: NetworkProjection, cid: str) -> str:
    return p.taxonomy.nodes[cid].get("label") or cid


def opportunity_steps(p: NetworkProjection, *, groups: Sequence[Mapping[str, Any]] = (),
                      services: Sequence[Mapping[str, Any]] = (),
                      training: Sequence[Mapping[str, Any]] = (),
                      chains: Sequence[tuple[str, Mapping[str, Any]]] = (),
                      consortia: Sequence[tuple[str, Mapping[str, Any]]] = (),
                      pairs: Sequence[Mapping[str, Any]] = ()) -> list[Step]:
    """The outputs of ``pooling``, ``cross_training``, ``value_chain``, ``consortium`` and
    ``best_pairs`` as steps (chains and consortia as ``(name, result)``)."""
    directory = AgentDirectory(p)
    steps: list[Step] = []
    for g in groups:
        total = g["total_volume"] or 1.0  # each member saves in proportion to its volume
        steps.append(Step(f"purchase:{g['category']}", "buying_group",
                          f"Buy {g['label'].lower()} together", list(g["members"]), g["lead"],
                          g["estimated_saving"], {m: round(g["estimated_saving"] * v / total, 2)
                                                  for m, v in g["volumes"].items()},
                          {g["lead"]}, detail=g["reason"], volumes=dict(g["volumes"])))
    for s in services:
        certification = p.taxonomy.nodes[s["capability"]].get("kind") == "certification"
        kind = "shared_certification" if certification else "shared_service"
        members = list(s["members"]) + ([s["provider"]] if s["provider"] else [])
        what = "Certify in" if certification else "Share"
        steps.append(Step(f"{kind.replace('_', '-')}:{s['capability']}", kind,
                          f"{what} {s['label']} together", members, s["provider"],
                          essential={s["provider"]} if s["provider"] else set(),
                          # bought together from outside, nobody's core offer is shared
                          core_business=bool(s["provider"]) and _core(p, s["capability"]),
                          core_member=s["provider"],
                          agents=directory.for_capability(s["capability"])
                          if s["external"] else [], detail=s["reason"]))
    by_capability: dict[str, list[Mapping[str, Any]]] = {}
    for pair in training:
        by_capability.setdefault(pair["capability"], []).append(pair)
    for cid, group in sorted(by_capability.items()):
        mentors = sorted({g["mentor"] for g in group})
        mentees = sorted({g["mentee"] for g in group})
        steps.append(Step(f"training:{cid}", "cross_training", f"Cross-training in {_label(p, cid)}",
                          sorted(set(mentors) | set(mentees)), mentors[0], essential=set(mentors),
                          core_business=_core(p, cid),
                          detail=f"{', '.join(_name(p, m) for m in mentors)} train "
                                 f"{len(mentees)} member(s) in {_label(p, cid)}"))
    for name, result in chains:
        members = sorted({e["member"] for stage in result["stages"] for e in stage["members"]})
        if len(members) >= 2:
            steps.append(Step(f"value-chain:{name}", "value_chain", f"Value chain: {name}",
                              members, essential=set(members), core_business=True,
                              agents=[a for gap in result["gaps"] for a in gap.get("agents", [])],
                              detail="; ".join(stage["reason"] for stage in result["stages"])))
    for name, result in consortia:
        best = result["best"]
        members = [m["member"] for m in best["members"]]
        lead = next((m["member"] for m in best["members"] if m["lead"]), None)
        if len(members) >= 2:
            steps.append(Step(f"consortium:{name}", "consortium", f"Consortium: {name}", members,
                              lead, essential=set(members), core_business=True,
                              agents=[a for gap in best["gaps"] for a in gap["agents"]],
                              detail=best["reason"]))
    for pair in pairs:
        a, b = pair["members"]
        steps.append(Step(f"pair:{a}+{b}", "pair", f"{_name(p, a)} and {_name(p, b)} work together",
                          [a, b], essential={a, b}, core_business=True,
                          detail=f"suggested pair, score {pair['score']:.2f}"))
    return steps


def _core(p: NetworkProjection, cid: str) -> bool:
    """Is ``cid`` core business (a service or product firms sell), not a purchase, know-how,
    certification or asset that rivals may share without harm?"""
    return p.taxonomy.nodes[cid].get("kind") in ("service", "product", None)


class _Ties:
    def __init__(self, p: NetworkProjection):
        self._trust: dict[tuple[tuple[str, ...], str | None], dict[str, Any]] = {}
        self.positive: dict[str, set[str]] = {m: set() for m in p.member_ids}
        self.rival: dict[str, set[str]] = {m: set() for m in p.member_ids}
        for a, b, kind in p.ties.edges(keys=True):
            if kind in POSITIVE_TIES and a in self.positive and b in self.positive:
                self.positive[a].add(b)
                self.positive[b].add(a)
        # Rivals by the engine's one rule (matching.rivalry): facilitators' verdicts included.
        rows = [p.member_index[m] for m in p.member_ids if m in p.member_index]
        for k, j in rival_pairs(p, rows):
            a, b = p.member_ids[rows[k]], p.member_ids[rows[j]]
            self.rival[a].add(b)
            self.rival[b].add(a)

    def trust(self, members: list[str], around: str | None = None) -> dict[str, Any]:
        """Ties inside ``members``; rival pairs only with ``around`` when given."""
        key = (tuple(members), around)
        cached = self._trust.get(key)
        if cached is None:
            cached = self._trust[key] = self._count(members, around)
        return {**cached, "rival_pairs": [list(r) for r in cached["rival_pairs"]]}

    def _count(self, members: list[str], around: str | None) -> dict[str, Any]:
        inside = set(members)
        known = {m: len(self.positive[m] & inside) for m in members}
        tied = sum(known.values()) // 2
        rivals = sorted({tuple(sorted((m, o))) for m in members for o in self.rival[m] & inside
                         if around is None or around in (m, o)})
        connected = sum(1 for m in members if known[m])
        return {"tied_pairs": tied, "members_with_a_tie_inside": connected,
                "share_tied": round(connected / len(members), 3) if members else 0.0,
                "rival_pairs": [list(r) for r in rivals]}


@dataclass
class Plan:
    """What one scheduling run decided, step by step: a variation of its steps (a member's own
    view: the same public steps and a few of its own) is rescheduled from it in a fraction of the
    time (``plan_roadmap``'s ``base``)."""

    ties: _Ties
    keys: dict[str, tuple[int, float, float]]  # step id -> rank key (depth, -rate, -tied)
    steps: dict[str, Step]  # step id -> the step as given
    entries: dict[str, tuple[dict[str, Any], Step | None, int]]  # id -> entry, shrunk step, start
    committed: dict[str, float]
    # Filled by ``public_plan``, for rescheduling: the decisions in schedule order, and per
    # member the steps it is in (``Step.members``) and the positions of the entries it is in.
    decisions: list[tuple[dict[str, Any], Step | None, int]] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)  # step id -> its decision's position
    steps_of: dict[str, list[str]] = field(default_factory=dict)
    entries_of: dict[str, list[int]] = field(default_factory=dict)


class _Book:
    """The schedule so far as the next step reads it: each member's load month by month and the
    positions of the entries it is in, kept for every member."""

    def __init__(self, p: NetworkProjection, committed: Mapping[str, float]):
        self.p = p
        self.planned: list[dict[str, Any]] = []
        self.load = np.zeros((p.n_members, HORIZON_MONTHS))
        for mid, hours in committed.items():
            if mid in p.member_index:
                self.load[p.member_index[mid]] += hours
        self._entries: dict[str, list[int]] = {}

    def add(self, entry: dict[str, Any], shrunk: Step | None, start: int) -> None:
        for m in entry["members"]:
            self._entries.setdefault(m, []).append(len(self.planned))
        self.planned.append(entry)
        if shrunk is not None:
            for m in shrunk.members:
                self.load[self.p.member_index[m], start:start + shrunk.spec.months] += \
                    _hours(shrunk, m)

    def entries_of(self, mid: str) -> list[int]:
        return self._entries.get(mid, [])

    def load_of(self, members: list[str]) -> np.ndarray:
        return self.load[[self.p.member_index[m] for m in members]]


class _Rebook(_Book):
    """The same book from a base plan: an entry kept from the base is noted by its position
    only, and a member's load and entries are summed from the base's index when a step asks for
    them, so that keeping a step costs nothing however many members it has."""

    def __init__(self, p: NetworkProjection, committed: Mapping[str, float], base: Plan):
        self.p, self.base, self.committed = p, base, committed
        self.planned = []
        self._kept: dict[int, int] = {}  # position in the base -> position here
        self._entries = {}  # entries decided anew only
        self._load: dict[str, np.ndarray] = {}  # load of the entries decided anew only

    def keep(self, step_id: str) -> dict[str, Any]:
        at = self.base.position[step_id]
        entry = dict(self.base.decisions[at][0])
        self._kept[at] = len(self.planned)
        self.planned.append(entry)
        return entry

    def add(self, entry: dict[str, Any], shrunk: Step | None, start: int) -> None:
        for m in entry["members"]:
            self._entries.setdefault(m, []).append(len(self.planned))
        self.planned.append(entry)
        if shrunk is not None:
            for m in shrunk.members:
                row = self._load.setdefault(m, np.zeros(HORIZON_MONTHS))
                row[start:start + shrunk.spec.months] += _hours(shrunk, m)

    def entries_of(self, mid: str) -> list[int]:
        kept = [self._kept[k] for k in self.base.entries_of.get(mid, ()) if k in self._kept]
        return kept + self._entries.get(mid, [])

    def load_of(self, members: list[str]) -> np.ndarray:
        load = np.zeros((len(members), HORIZON_MONTHS))
        for r, m in enumerate(members):
            load[r] += self.committed.get(m, 0.0)
            if m in self._load:
                load[r] += self._load[m]
            for k in self.base.entries_of.get(m, ()):
                _, shrunk, start = self.base.decisions[k]
                if k in self._kept and shrunk is not None:  # a planned entry: m is in shrunk
                    load[r, start:start + shrunk.spec.months] += _hours(shrunk, m)
        return load


def plan_roadmap(p: NetworkProjection, steps: list[Step], *,
                 committed: Mapping[str, float] | None = None,
                 running: Sequence[Mapping[str, Any]] = (),
                 base: Plan | None = None, member: str | None = None) -> dict[str, Any]:
    r"""Order and schedule ``steps``; deterministic.

    Order: by effective depth (the kind's depth of integration, one more when rivals would share
    core business), then by benefit per hour asked a month (quick pay first), then by the share
    of members already tied to someone in the step, then by id. A step is *prepared by* the
    earlier, shallower steps that share at least two of its members (up to three, largest
    overlap first); it starts ``TRUST_MONTHS`` after they start at the earliest, and a step of
    depth d not before month :math:`1 + 3 (d - 2)`.

    Schedule: month by month, the earliest start at which every essential member (lead,
    provider, mentors) has the hours free for the whole step; other members without the time
    then are left out, with the reason. Nobody is ever planned beyond their stated
    ``hours_per_month`` minus ``committed`` (hours already given to running projects).
    ``running`` are the network's projects in progress: a step they already cover is shown as
    running, not planned again.

    ``base`` (from ``public_plan`` on the same projection): a step whose members met no change
    before it (a step new or scheduled differently, other hours committed) keeps the base's
    decision, which the schedule would repeat exactly; the others are scheduled anew.
    ``member``: only that member's first step is worked out (``first_steps``).
    """
    if base is not None and len({s.id for s in steps}) < len(steps):
        base = None  # steps sharing an id: the base's decisions by id would be ambiguous
    planned, ties, _ = _schedule(p, steps, dict(committed or {}), running, base)
    return _finish(p, planned, ties, member)


def public_plan(p: NetworkProjection, steps: list[Step]) -> Plan:
    """The schedule of ``steps`` with no hours committed and no project running, kept as the
    base of every member's own view (``plan_roadmap``)."""
    plan = _schedule(p, steps, {}, (), None)[2]
    for at, (sid, decision) in enumerate(plan.entries.items()):  # in schedule order
        plan.decisions.append(decision)
        plan.position[sid] = at
        for m in decision[0]["members"]:
            plan.entries_of.setdefault(m, []).append(at)
        for m in plan.steps[sid].members:
            plan.steps_of.setdefault(m, []).append(sid)
    return plan


def _schedule(p: NetworkProjection, steps: list[Step], committed: dict[str, float],
              running: Sequence[Mapping[str, Any]], base: Plan | None
              ) -> tuple[list[dict[str, Any]], _Ties, Plan]:
    ties = base.ties if base is not None else _Ties(p)
    budget = np.where(np.isnan(p.hours), np.inf, p.hours)
    book = _Book(p, committed) if base is None else _Rebook(p, committed, base)
    covered = _running_sources(running)
    # Members whose load may differ from the base's at this point of the schedule, and the
    # base's steps they are in (which the base's decisions no longer hold for).
    dirty: set[str] = set()
    touched: set[str] = set()

    def spoil(members: Sequence[str]) -> None:
        for m in members:
            if m not in dirty:
                dirty.add(m)
                touched.update(base.steps_of.get(m, ()))

    if base is not None:
        spoil([m for m in sorted(set(committed) | set(base.committed))
               if committed.get(m, 0.0) != base.committed.get(m, 0.0)])
    plan = Plan(ties, {}, {}, {}, dict(committed))
    by_id: dict[str, dict[str, Any]] = {}

    def add(step: Step, entry: dict[str, Any], shrunk: Step | None, start: int) -> None:
        book.add(entry, shrunk, start)
        by_id[entry["id"]] = entry
        plan.entries[step.id] = (entry, shrunk, start)
        if base is None:
            return
        before = base.entries.get(step.id)
        if before is None or before[0]["status"] != entry["status"] \
                or before[2] != start or before[0]["members"] != entry["members"]:
            spoil(step.members)
            spoil(entry["members"])

    ranked = []
    for step in steps:
        if base is not None and base.steps.get(step.id) is step:
            key = base.keys[step.id]
        else:
            trust = ties.trust(step.members, step.core_member)
            depth = step.spec.depth + (1 if step.core_business and trust["rival_pairs"] else 0)
            asked = sum(_hours(step, m) for m in step.members)
            rate = (step.benefit or 0.0) / asked if asked else 0.0
            key = (depth, -round(rate, 6), -trust["share_tied"])
        plan.keys[step.id], plan.steps[step.id] = key, step
        ranked.append((*key, step.id, step))
    ranked.sort(key=lambda e: e[:4])
    for depth, _, _, _, step in ranked:
        before = base.entries.get(step.id) if base is not None else None
        if before is not None and base.steps.get(step.id) is step \
                and step.id not in covered and before[0]["status"] != "running" \
                and step.id not in touched:  # no member of it is dirty
            entry = book.keep(step.id)  # type: ignore[attr-defined]
            by_id[step.id] = entry
            plan.entries[step.id] = (entry, before[1], before[2])
            continue
        if step.id in covered:
            project = covered[step.id]
            members = sorted({part["member"] for part in project.get("members") or ()
                              if part["member"] in p.member_index})
            shown = replace(step, members=members or step.members,
                            lead=project.get("lead") or step.lead)
            add(step, _as_dict(shown, depth, ties, [], 0, [], status="running",
                               project=project["id"]), None, 0)
            continue
        prepared = _prepared_by(step, depth, book)
        # Deep steps wait for ties: after the steps preparing them, and never in the first
        # months (TRUST_MONTHS per level of depth beyond a shared service).
        ready = max([by_id[sid]["start_month"] - 1 + TRUST_MONTHS for sid in prepared
                     if by_id[sid]["status"] == "planned"]
                    + [TRUST_MONTHS * max(depth - 2, 0)])
        start, kept, left_out = _fit(p, step, ready, budget, book.load_of(step.members))
        if start is None or len(kept) < 2:
            add(step, _as_dict(step, depth, ties, prepared, 0, left_out,
                               status="not planned"), None, 0)
            continue
        shrunk = _shrunk(step, kept)
        add(step, _as_dict(shrunk, depth, ties, prepared, start, left_out, status="planned"),
            shrunk, start)
    return book.planned, ties, plan


def _finish(p: NetworkProjection, planned: list[dict[str, Any]], ties: _Ties,
            member: str | None = None) -> dict[str, Any]:
    """Number the entries and find each member's first step."""
    for k, entry in enumerate(planned, start=1):
        entry["order"] = k
    first: dict[str, dict[str, Any]] = {}
    for entry in sorted((e for e in planned if e["status"] != "not planned"),
                        key=lambda e: (e["start_month"] or 0, e["order"])):
        for m in entry["members"] if member is None else [member] * holds(entry, member):
            first.setdefault(m, entry)
    first_steps = {m: _first_step(p, first[m], m, ties, set(first[m]["members"]))
                   for m in sorted(first)}
    for entry in planned:
        entry.pop("_benefit")
    return {"steps": planned, "first_steps": first_steps, "reason": _summary(planned)}


def holds(entry: Mapping[str, Any], mid: str) -> bool:
    """Is ``mid`` among the entry's members (kept sorted: a binary search, for a member's view
    that looks through every entry)?"""
    members = entry["members"]
    at = bisect.bisect_left(members, mid)
    return at < len(members) and members[at] == mid


def _hours(step: Step, mid: str) -> float:
    """Hours a month the step asks of ``mid``: more of its lead, provider or mentors."""
    leads = step.kind == "cross_training" and mid in step.essential
    return step.spec.lead_hours if mid == step.lead or leads else step.spec.member_hours


def _running_sources(running: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Step id -> the running (or done) project that already covers it: by the project's
    ``source.step`` or, for a buying group, its ``source.category``."""
    out: dict[str, Mapping[str, Any]] = {}
    for project in running:
        if project.get("phase") not in ACTIVE_PHASES | {"done"}:
            continue
        source = project.get("source") or {}
        if source.get("step"):
            out[source["step"]] = project
        elif project.get("kind") == "buying_group" and source.get("category"):
            out[f"purchase:{source['category']}"] = project
    return out


def _prepared_by(step: Step, depth: int, book: _Book) -> list[str]:
    """The ids of the earlier, shallower entries sharing the most members with ``step`` (counted
    through the step's own members, from the book's index)."""
    planned = book.planned
    overlap: dict[int, int] = {}
    for m in set(step.members):
        for k in book.entries_of(m):
            overlap[k] = overlap.get(k, 0) + 1
    earlier = [(n, planned[k]["id"]) for k, n in overlap.items()
               if planned[k]["depth"] < depth and planned[k]["status"] != "not planned"]
    return [sid for n, sid in sorted(earlier, key=lambda e: (-e[0], e[1])) if n >= 2][:3]


def _fit(p: NetworkProjection, step: Step, ready: int, budget: np.ndarray, load: np.ndarray
         ) -> tuple[int | None, list[str], list[dict[str, Any]]]:
    """``load``: the load of each of the step's members (rows), month by month."""
    months = step.spec.months
    rows = np.array([p.member_index[m] for m in step.members], dtype=np.int64)
    asked = np.array([_hours(step, m) for m in step.members])
    essential = np.array([m in step.essential for m in step.members], dtype=bool)
    room = budget[rows] + 1e-9 - asked  # the most load a month that leaves room for the step
    for start in range(ready, HORIZON_MONTHS - months + 1):
        fits = np.all(load[:, start:start + months] <= room[:, None], axis=1)
        if np.all(fits[essential]):
            kept = [m for m, ok in zip(step.members, fits.tolist()) if ok]
            left = [{"member": m, "reason": f"{_name(p, m)} has no {_hours(step, m):g} hours a "
                                            f"month free from month {start + 1}"}
                    for m, ok in zip(step.members, fits.tolist()) if not ok]
            return start, kept, left
    blocked = [m for m in sorted(step.essential)
               if _hours(step, m) > budget[p.member_index[m]]]
    return None, [], [{"member": m, "reason": f"{_name(p, m)} has not enough hours a month"}
                      for m in blocked]


def _shrunk(step: Step, kept: list[str]) -> Step:
    """The step with only the members that have the time; a buying group's saving shrinks with
    the volume that left."""
    if kept == step.members:
        return step
    benefit = step.benefit
    if benefit is not None and step.volumes:
        total = sum(step.volumes.values())
        benefit = round(benefit * sum(step.volumes.get(m, 0.0) for m in kept) / total, 2) \
            if total else benefit
    return replace(step, members=kept, benefit=benefit,
                   member_benefit={m: v for m, v in step.member_benefit.items() if m in kept})


def _as_dict(step: Step, depth: int, ties: _Ties, prepared: list[str], start: int,
             left_out: list[dict[str, Any]], *, status: str, project: str | None = None
             ) -> dict[str, Any]:
    spec = step.spec
    trust = ties.trust(step.members, step.core_member)
    rivals = bool(trust["rival_pairs"])
    why = [step.detail] if step.detail else []
    if step.core_business and rivals:
        why.append("rivals would share core business here, so it comes after the trust that "
                   "earlier steps build")
    if prepared:
        why.append("prepared by " + ", ".join(prepared))
    entry = {"id": step.id, "order": 0, "kind": step.kind, "title": step.title,
             "depth": depth, "integration": spec.depth_label, "status": status,
             "start_month": start + 1 if status == "planned" else None,
             "months": spec.months, "benefit_eur": step.benefit, "members": sorted(step.members),
             "lead": step.lead,
             "hours_per_month": {m: _hours(step, m) for m in sorted(step.members)},
             "trust": {**trust, "rivals": rivals}, "prepared_by": prepared,
             "left_out": left_out, "agents": step.agents, "reason": ". ".join(why)}
    if project:
        entry["project"] = project
        entry["start_month"] = None
    entry["_benefit"] = step.member_benefit
    return entry


def _first_step(p: NetworkProjection, entry: dict[str, Any], mid: str, ties: _Ties,
                inside: set[str]) -> dict[str, Any]:
    others = inside - {mid}
    known = len(ties.positive[mid] & others)
    money = entry["_benefit"].get(mid)
    text = entry["title"][0].lower() + entry["title"][1:]
    parts = [f"{'keep going with' if entry['status'] == 'running' else 'join'}: {text}"]
    if money:
        parts.append(f"about {money:,.0f} EUR a year")
    parts.append(f"with {len(others)} firm(s), {known} of which you already know")
    return {"step": entry["id"], "status": entry["status"], "start_month": entry["start_month"],
            "hours_per_month": entry["hours_per_month"].get(mid), "benefit_eur": money,
            "firms": len(others), "known": known,  # for pages that word it in their language
            "text": ", ".join(parts)}


def _summary(planned: list[dict[str, Any]]) -> str:
    live = [e for e in planned if e["status"] == "planned"]
    if not live:
        return "Nothing to plan yet."
    text = (f"{len(live)} step(s) planned over "
            f"{max(e['start_month'] + e['months'] - 1 for e in live)} months: joint purchases "
            "first, deeper co-operation once they have built ties")
    running = sum(1 for e in planned if e["status"] == "running")
    waiting = len(planned) - len(live) - running
    extra = [f"{running} already running"] if running else []
    extra += [f"{waiting} not planned for lack of members' time"] if waiting else []
    return text + (f" ({', '.join(extra)})." if extra else ".")
