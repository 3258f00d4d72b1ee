"""Assign members to value-chain stages where each is relatively strongest: an exact optimum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.agents import AgentDirectory
from matching.features import NetworkFeatures


class UnknownCapability(LookupError):
    """A stage requires a capability that is not in the taxonomy; ``path`` says where."""

    def __init__(self, capability: str, path: str):
        super().__init__(capability)
        self.capability = capability
        self.path = path


@dataclass(frozen=True)
class Stage:
    id: str
    requires: Sequence[str]
    min_members: int = 1
    max_members: int = 1
    label: str | None = None


@dataclass(frozen=True)
class ChainResult:
    stages: list[dict] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    total_fit: float = 0.0

    def as_dict(self) -> dict:
        return {"stages": self.stages, "gaps": self.gaps, "total_fit": self.total_fit}


def stage_fit(features: NetworkFeatures, stages: Sequence[Stage]) -> np.ndarray:
    r"""Fit of every member for every stage, ``n_members x n_stages``.

    .. math:: fit_{ms} = \frac{1}{|R_s|} \sum_{d \in R_s} \min\Big(1, \sum_c S_{dc} \,
              level_{mc} / 5\Big)

    with :math:`R_s` the stage's required capabilities and S the taxonomy coverage matrix, so a
    member strong in a narrower or broader capability fits partly (the engine's coverage).
    """
    p = features.projection
    fit = np.zeros((p.n_members, len(stages)))
    for s, stage in enumerate(stages):
        required = []
        for r, cid in enumerate(stage.requires):
            if cid not in p.capability_index:
                raise UnknownCapability(cid, f"stages[{s}].requires[{r}]")
            required.append(p.capability_index[cid])
        if required:
            fit[:, s] = np.asarray(features.coverage[required].mean(axis=0)).ravel()
    return fit


def _candidates(fit: np.ndarray, stages: Sequence[Stage], min_fit: float) -> list[tuple[int, int]]:
    """Per stage, the best ``sum(max_members)`` members: an exchange argument shows the optimum
    never needs a member outside them (at most that many slots elsewhere can block the better
    ones), so the integer program stays small on a 10k-member network."""
    keep = sum(stage.max_members for stage in stages)
    pairs = []
    for s in range(len(stages)):
        eligible = np.flatnonzero(fit[:, s] >= min_fit)
        best = eligible[np.argsort(-fit[eligible, s], kind="stable")[:keep]]
        pairs += [(int(m), s) for m in sorted(best)]
    return pairs


def assign_stages(features: NetworkFeatures, stages: Sequence[Stage], *,
                  max_stages_per_member: int = 1, min_fit: float = 0.2) -> ChainResult:
    r"""Maximise total fit with an integer program (``scipy.optimize.milp``), no greedy shortcut.

    Variables :math:`x_{ms} \in \{0,1\}` (member m works stage s, only where
    :math:`fit_{ms} \ge` ``min_fit``, among the stage's best candidates) and :math:`y_s \in \{0,1\}` (stage s is filled):

    .. math::

        \max \sum_{ms} fit_{ms} x_{ms} + B \sum_s y_s \quad \text{s.t.} \quad
        \sum_m x_{ms} \le max_s, \quad \sum_m x_{ms} \ge min_s \, y_s, \quad
        \sum_s x_{ms} \le \text{max\_stages\_per\_member}

    with :math:`B` larger than any total fit, so the optimum fills as many stages as possible
    first, then maximises fit. A stage left unfilled is a gap: what must be recruited outside.
    """
    p = features.projection
    fit = stage_fit(features, stages)
    pairs = _candidates(fit, stages, min_fit)
    n_x, n_s = len(pairs), len(stages)
    bonus = float(fit.sum()) + 1.0
    c = -np.concatenate([[fit[m, s] for m, s in pairs], np.full(n_s, bonus)])
    constraints: list[tuple[np.ndarray, float, float]] = []  # (row, lower, upper)
    for s, stage in enumerate(stages):
        works_s = np.array([float(ps == s) for _, ps in pairs] + [0.0] * n_s)
        constraints.append((works_s, -np.inf, stage.max_members))
        filled = works_s.copy()
        filled[n_x + s] = -stage.min_members  # y_s = 1 only with at least min_members
        constraints.append((filled, 0.0, np.inf))
    for m in sorted({m for m, _ in pairs}):
        works_m = np.array([float(pm == m) for pm, _ in pairs] + [0.0] * n_s)
        constraints.append((works_m, -np.inf, max_stages_per_member))
    rows = [row for row, _, _ in constraints]
    lower = [low for _, low, _ in constraints]
    upper = [high for _, _, high in constraints]
    result = milp(c, integrality=np.ones(n_x + n_s),
                  bounds=Bounds(np.zeros(n_x + n_s), np.ones(n_x + n_s)),
                  constraints=LinearConstraint(np.array(rows), lower, upper) if rows else None)
    chosen = np.round(result.x).astype(bool) if result.x is not None else np.zeros(n_x + n_s, bool)
    out, gaps, total = [], [], 0.0
    directory = AgentDirectory(p)
    for s, stage in enumerate(stages):
        members = sorted(({"member": p.member_ids[m], "fit": round(float(fit[m, ps]), 4)}
                          for k, (m, ps) in enumerate(pairs) if ps == s and chosen[k]),
                         key=lambda e: (-e["fit"], e["member"]))
        filled = len(members) >= stage.min_members
        total += sum(e["fit"] for e in members)
        agents: list[dict] = []
        if not filled:
            gaps.append(stage.id)
            agents = _stage_agents(directory, stage)
        out.append({"id": stage.id, "members": members, "filled": filled, "agents": agents,
                    "reason": _stage_reason(features, stage, members, filled)})
    return ChainResult(out, gaps, round(total, 4))


def _stage_agents(directory: AgentDirectory, stage: Stage) -> list[dict]:
    """The outside agents offering any capability the stage requires, each once."""
    seen: dict[str, dict] = {}
    for cid in stage.requires:
        for agent in directory.for_capability(cid):
            seen.setdefault(agent["agent"], agent)
    return list(seen.values())


def _stage_reason(features: NetworkFeatures, stage: Stage, members: list[dict], filled: bool) -> str:
    tax = features.projection.taxonomy.nodes
    needs = ", ".join(tax[c].get("label") or c for c in stage.requires)
    if not members:
        return f"Nobody in the network is strong enough in {needs}: recruit from outside"
    names = ", ".join(features.projection.ties.nodes[e["member"]].get("name") or e["member"]
                      for e in members)
    if not filled:
        return f"Only {names} can take {needs}; {stage.min_members} are needed"
    return f"{names} {'is' if len(members) == 1 else 'are'} relatively strongest in {needs}"
