"""Who in a network can train whom: strong members mentor members weak in the same thing.

The assignment is a min-cost flow, so a mentor's few places go where they do the most good for
the network as a whole, not to whoever happens to be served first.

**Confidential**: the result names members' weaknesses. It is for facilitators only; never show
it to members or analysts.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.agents import AgentDirectory
from matching.projection import NetworkProjection
from matching.taxonomy import coverage_matrix

MIN_COVERAGE = 0.5  # the exact capability (1), a narrower one (0.8) or the direct parent (0.5)
FIT_STEPS = 10  # fit is rounded to tenths in the integer flow costs


def _name(projection: NetworkProjection, mid: str) -> str:
    return projection.ties.nodes[mid].get("name") or mid


def _label(projection: NetworkProjection, cid: str) -> str:
    return projection.taxonomy.nodes[cid].get("label") or cid


def _mentors(projection: NetworkProjection, min_level: int
             ) -> dict[int, list[tuple[int, float, int, float]]]:
    r"""Per weak capability d: every possible mentor (b, fit, c, coverage), best fit first.

    For mentor b, ``c`` is b's capability that best covers d, with fit
    :math:`\max_c S_{dc} \, level_{bc} / 5` over c with :math:`S_{dc} \ge 0.5` and
    :math:`level_{bc} \ge` ``min_level``. Nobody mentors a capability it is itself weak in
    (which also keeps anyone from mentoring itself).
    """
    weak = sp.coo_array(projection.severities)
    weak_of = {(int(i), int(d)) for i, d in zip(weak.row, weak.col)}
    ids = projection.capability_ids
    weak_caps = sorted({d for _, d in weak_of})
    # Only the rows of weak capabilities and the columns covering them are read: a member's own
    # view (one member's weaknesses) stays cheap in a large network.
    S = coverage_matrix(projection.taxonomy, ids, rows=[ids[d] for d in weak_caps])
    covering = np.unique(S[weak_caps].indices) if weak_caps else np.zeros(0, dtype=np.int64)
    levels = projection.levels[:, covering]
    strong = sp.csr_array(levels.multiply(levels >= min_level)).tocoo()
    by_capability: dict[int, list[tuple[int, float]]] = {}
    for b, k, level in zip(strong.row.tolist(), strong.col.tolist(), strong.data.tolist()):
        if level > 0:
            by_capability.setdefault(int(covering[k]), []).append((b, level))
    result: dict[int, list[tuple[int, float, int, float]]] = {}
    for d in weak_caps:
        row = S[[d], :]
        best: dict[int, tuple[int, float, int, float]] = {}
        for c, cover in zip(row.indices.tolist(), row.data.tolist()):
            if cover < MIN_COVERAGE:
                continue
            for b, level in by_capability.get(c, ()):
                if (b, d) in weak_of:
                    continue
                fit = cover * level / 5
                if b not in best or fit > best[b][1]:
                    best[b] = (b, fit, c, cover)
        result[d] = sorted(best.values(), key=lambda m: (-m[1], m[0]))
    return result


def cross_training(projection: NetworkProjection, capacity: int = 3, min_level: int = 4
                   ) -> dict[str, list[dict[str, Any]]]:
    r"""Pair members weak in a capability with members strong in it, at most once per weakness.

    FOR FACILITATORS ONLY: the output names members' weaknesses, which are confidential.

    Member b may train member a's weakness in capability d when b holds some capability c at
    level :math:`\ge` ``min_level`` that covers d well (taxonomy coverage :math:`S_{dc} \ge 0.5`:
    d itself or a synonym, a narrower capability, or d's direct parent), with
    :math:`fit = \max_c S_{dc} \cdot level_{bc} / 5`. A member never trains itself, nor in a
    capability it is itself weak in.

    The assignment is a min-cost flow source -> mentor b (capacity ``capacity``) ->
    capability hub d (cost :math:`-\mathrm{round}(10 \cdot fit_{bd})`) -> weakness (a, d)
    (cost :math:`-severity_{ad} \cdot K`) -> sink (capacity 1), with
    :math:`K = 10 \cdot (\#\text{weaknesses} + 1)`.

    K makes one point of severity worth more than any total of fits, so the most severe
    weaknesses are served first and fit only breaks ties. (Severity sits on the weakness, so the
    most severe set that can be served is also a largest one: maximising the flow first costs
    nothing.) Routing through one hub per capability keeps the graph at mentors x capabilities
    edges instead of mentors x weaknesses, with the same optimum: a mentor's fit depends on the
    capability only, so any pairing of a hub's mentor places with its served weaknesses costs
    the same; pairs are formed most severe weakness with best mentor.

    Parameters
    ----------
    projection : NetworkProjection
    capacity : int
        Most mentees per mentor, over all capabilities.
    min_level : int
        Least level (1-5) of the mentor's capability.

    Returns
    -------
    dict
        ``pairs``: ``capability``, ``mentor``, ``mentee``, ``fit`` and a ``reason`` sentence,
        sorted by capability, mentor, mentee. ``unmet``: weaknesses nobody in the network can
        take on (``member``, ``capability``, ``severity``, ``reason``), to train outside, sorted
        by capability and member, with what the reason says: ``able`` (the members who could
        train it, all with their ``capacity`` of mentees taken; empty when none is at
        ``min_level``) and ``agents`` (outside agents for it).
    """
    if capacity < 0:
        raise ValueError("capacity must be >= 0")
    ids, caps = projection.member_ids, projection.capability_ids
    weak = sp.coo_array(projection.severities)
    weaknesses = sorted(((int(d), -float(sev), int(i)) for i, d, sev
                         in zip(weak.row, weak.col, weak.data)))
    mentors = _mentors(projection, min_level)
    big = FIT_STEPS * (len(weaknesses) + 1)

    flow = _min_cost_flow(mentors, weaknesses, capacity, big)

    served_by_hub: dict[int, list[tuple[int, float]]] = {}
    for d, neg_sev, i in weaknesses:  # already most severe first within each capability
        if (i, d) in flow["served"]:
            served_by_hub.setdefault(d, []).append((i, -neg_sev))
    pairs, served = [], set()
    for d, candidates in mentors.items():
        places = [m for m in candidates for _ in range(flow.get((m[0], d), 0))]
        for (b, fit, c, cover), (i, severity) in zip(places, served_by_hub.get(d, [])):
            served.add((i, d))
            pairs.append({"capability": caps[d], "mentor": ids[b], "mentee": ids[i],
                          "fit": round(fit, 3),
                          "reason": _pair_reason(projection, b, i, d, c, cover, severity)})
    unmet = []
    directory = AgentDirectory(projection)
    for d, neg_sev, i in weaknesses:
        if (i, d) in served:
            continue
        what = _label(projection, caps[d])
        able = mentors.get(d, [])
        if able:
            names = ", ".join(_name(projection, ids[b]) for b, *_ in able[:5])
            more = f" and {len(able) - 5} more" if len(able) > 5 else ""
            why = (f"{what}: the members able to train it ({names}{more}) have no place left "
                   f"(at most {capacity} mentees each); look for outside training.")
        else:
            why = (f"{what}: no member is at level {min_level} or above in it or a close "
                   "capability; look for outside training.")
        agents = directory.for_capability(caps[d])
        if agents:
            why += " Outside: " + ", ".join(f"{a['name']} ({a['kind']})" for a in agents) + "."
        unmet.append({"member": ids[i], "capability": caps[d], "severity": -neg_sev,
                      "agents": agents, "able": [ids[b] for b, *_ in able],
                      "capacity": capacity, "min_level": min_level, "reason": why})
    pairs.sort(key=lambda p: (p["capability"], p["mentor"], p["mentee"]))
    unmet.sort(key=lambda u: (u["capability"], u["member"]))
    return {"pairs": pairs, "unmet": unmet}


def _min_cost_flow(mentors: dict[int, list[tuple[int, float, int, float]]],
                   weaknesses: list[tuple[int, float, int]], capacity: int, big: int
                   ) -> dict[Any, Any]:
    """Solve the flow of ``cross_training`` with HiGHS (``scipy.optimize.milp``).

    Variables: the units mentor b gives hub d (0..capacity) and whether weakness (a, d) is served
    (0/1); each mentor gives at most ``capacity`` units, each hub passes on what it receives. The
    constraint matrix of a flow is totally unimodular, so this is the min-cost flow itself, solved
    exactly; networkx's network simplex took minutes at 10k members, HiGHS a fraction of a second.
    Returns ``{(b, d): units}`` plus ``"served"``: the set of served (a, d).
    """
    arcs = [(b, d, fit) for d, candidates in mentors.items() for b, fit, _, _ in candidates]
    wanted = [(i, d, -neg_sev) for d, neg_sev, i in weaknesses if mentors.get(d)]
    if not capacity or not arcs or not wanted:
        return {"served": set()}
    n_x, n_y = len(arcs), len(wanted)
    mentor_row = {b: r for r, b in enumerate(sorted({b for b, _, _ in arcs}))}
    hub_row = {d: len(mentor_row) + r for r, d in enumerate(sorted(mentors))}
    rows, cols, vals = [], [], []
    for k, (b, d, _) in enumerate(arcs):
        rows += [mentor_row[b], hub_row[d]]
        cols += [k, k]
        vals += [1, 1]
    for k, (_, d, _) in enumerate(wanted):
        rows.append(hub_row[d])
        cols.append(n_x + k)
        vals.append(-1)
    A = sp.csr_array((vals, (rows, cols)), shape=(len(mentor_row) + len(hub_row), n_x + n_y))
    lower = np.r_[np.full(len(mentor_row), -np.inf), np.zeros(len(hub_row))]
    upper = np.r_[np.full(len(mentor_row), capacity), np.zeros(len(hub_row))]
    cost = -np.r_[[round(fit * FIT_STEPS) for _, _, fit in arcs],
                  [int(round(sev)) * big for _, _, sev in wanted]]
    # Solved as a linear program: its basic optimum is integral (total unimodularity), and
    # HiGHS's integer machinery only added time (13 s against 9 s at 10,000 members, loaded).
    result = milp(cost, constraints=LinearConstraint(A, lower, upper),
                  integrality=np.zeros(n_x + n_y),
                  bounds=Bounds(np.zeros(n_x + n_y), np.r_[np.full(n_x, capacity), np.ones(n_y)]))
    solution = np.round(result.x).astype(int)
    flow: dict[Any, Any] = {(b, d): int(u) for (b, d, _), u in zip(arcs, solution[:n_x]) if u}
    flow["served"] = {(i, d) for (i, d, _), u in zip(wanted, solution[n_x:]) if u}
    return flow


def _pair_reason(projection: NetworkProjection, b: int, i: int, d: int, c: int,
                 cover: float, sev: float) -> str:
    ids, caps = projection.member_ids, projection.capability_ids
    row = projection.levels.indptr[b], projection.levels.indptr[b + 1]
    columns = projection.levels.indices[row[0]:row[1]]
    level = float(projection.levels.data[row[0] + int(np.flatnonzero(columns == c)[0])])
    mentor, mentee = _name(projection, ids[b]), _name(projection, ids[i])
    need = _label(projection, caps[d])
    if c == d:
        how = f"is at level {level:g} in {need}"
    elif np.isclose(cover, 1.0):  # a synonym: another id for the same capability
        how = f"is at level {level:g} in {_label(projection, caps[c])} (the same as {need})"
    else:
        kind = "narrower" if nx.has_path(projection.taxonomy, caps[c], caps[d]) else "broader"
        how = (f"is at level {level:g} in {_label(projection, caps[c])}, a {kind} capability "
               f"covering {need} (coverage {cover:.1f})")
    return f"{mentor} {how} and can train {mentee}, weak in {need} (severity {sev:g})."
