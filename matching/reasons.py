"""Readable explanations of a suggestion, as data and one sentence each.

Reasons shown to member A describe what B offers A, what A offers B's *needs*, rivalry, ties and
introductions. They never mention B's weaknesses: those are confidential to B.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.features import NetworkFeatures


Param = str | int | tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """One explanation: a ``kind`` with its ``params`` (ids and whole numbers, so a reader's
    interface can say it in its own language) and the same in an English sentence, ``text``.

    Params by kind (``partner`` is the suggested member's id, capabilities are ids):
    covers_need / partner_needs: partner, offered, level, need, relation (same | serves | close),
    urgency; covers_weakness: partner, offered, level, weakness, relation, severity;
    competitor: partner, direct (0 or 1), overlap; tie: partner; common: count;
    intro: via, steps; in_demand: partner, askers, quota.
    """

    kind: str  # covers_need | covers_weakness | partner_needs | competitor | tie | common | intro
    #            | in_demand
    text: str
    capability: str | None = None
    params: tuple[tuple[str, Param], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "capability": self.capability, "text": self.text,
                "params": dict(self.params)}


def _label(features: NetworkFeatures, j: int) -> str:
    cid = features.projection.capability_ids[j]
    return features.projection.taxonomy.nodes[cid].get("label") or cid


def _name(features: NetworkFeatures, i: int) -> str:
    mid = features.projection.member_ids[i]
    return features.projection.ties.nodes[mid].get("name") or mid


def _best_offer(features: NetworkFeatures, d: int, b: int) -> tuple[int, float, float] | None:
    """B's capability that best covers capability d: (index, coverage, level)."""
    covers = features.covers[d]
    best = None
    for c, level in features.levels_of[b].items():
        cover = covers.get(c, 0.0) * level / 5
        if cover > 0 and (best is None or cover > best[1]):
            best = (c, cover, level)
    return best


def _relation(features: NetworkFeatures, c: int, d: int) -> str:
    """How offered capability c answers capability d: the same, one that serves it, or close."""
    if c == d:
        return "same"
    ids = features.projection.capability_ids
    if ids[d] in (features.projection.taxonomy.nodes[ids[c]].get("serves") or ()):
        return "serves"
    return "close"


def _offer_phrase(features: NetworkFeatures, c: int, level: float, d: int) -> str:
    offered = f"{_label(features, c)} (level {level:.0f})"
    relation = _relation(features, c, d)
    if relation == "same":
        return offered
    if relation == "serves":
        return f"{offered}, which serves {_label(features, d)}"
    return f"{offered}, close to {_label(features, d)}"


def _offer_params(features: NetworkFeatures, b: int, c: int, level: float, d: int,
                  about: str, weight_name: str, weight: float) -> tuple[tuple[str, Param], ...]:
    ids = features.projection.capability_ids
    return (("partner", features.projection.member_ids[b]), ("offered", ids[c]),
            ("level", int(round(level))), (about, ids[d]), ("relation", _relation(features, c, d)),
            (weight_name, int(round(weight))))


def benefit_reasons(features: NetworkFeatures, a: int, b: int, *, non_core_only: bool = False,
                    own_weaknesses: bool = True, limit: int = 4) -> list[Reason]:
    """What B offers A (A's needs and A's own weaknesses) and what A offers B's needs.

    With ``non_core_only`` (B is a rival), only what lies outside both their lines of business
    (their core offers, what is above and below them in the taxonomy) counts.
    Without ``own_weaknesses`` (the public view) A's weaknesses are left out too. Nothing here
    reads B's weaknesses, so every view explains itself with the same sentences.
    """
    # Each candidate reason is weighed first and only the ``limit`` kept are written out: a
    # suggestion weighs about ten and shows four.
    scored: list[tuple[float, str, int, tuple[int, float, float], float]] = []
    excluded = features.zone_of[a] & features.zone_of[b] if non_core_only else set()
    for d, urgency in features.urgency_of[a].items():
        if d in excluded:
            continue
        best = _best_offer(features, int(d), b)
        if best:
            scored.append((best[1] * urgency, "covers_need", int(d), best, urgency))
    for d, severity in (features.severity_of[a] if own_weaknesses else {}).items():
        if d in excluded:
            continue
        best = _best_offer(features, int(d), b)
        if best:
            scored.append((best[1] * severity * features.weakness_weight, "covers_weakness",
                           int(d), best, severity))
    for d, urgency in features.urgency_of[b].items():
        best = _best_offer(features, int(d), a)
        if best:  # B's needs only: its weaknesses are never named to A
            scored.append((best[1] * urgency * 0.5, "partner_needs", int(d), best, urgency))
    scored.sort(key=lambda item: -item[0])
    return [_benefit_reason(features, b, kind, d, best, weight)
            for _, kind, d, best, weight in scored[:limit]]


def _benefit_reason(features: NetworkFeatures, b: int, kind: str, d: int,
                    best: tuple[int, float, float], weight: float) -> Reason:
    """One reason of ``benefit_reasons``: B covers A's need or weakness ``d`` with its offer
    ``best``, or (``partner_needs``) A covers B's need ``d``; ``weight`` is the urgency or the
    severity."""
    c, _, level = best
    p = features.projection
    offer = _offer_phrase(features, c, level, d)
    if kind == "covers_need":
        how = "urgently " if weight >= 4 else ""
        text = f"{_name(features, b)} offers {offer}, which you need {how}({weight:.0f}/5)"
        params = _offer_params(features, b, c, level, d, "need", "urgency", weight)
    elif kind == "covers_weakness":
        text = (f"{_name(features, b)} is strong in {offer}, where you are weak "
                f"(severity {weight:.0f}/5)")
        params = _offer_params(features, b, c, level, d, "weakness", "severity", weight)
    else:
        text = f"You offer {offer}, which {_name(features, b)} needs ({weight:.0f}/5)"
        params = _offer_params(features, b, c, level, d, "need", "urgency", weight)
    return Reason(kind, text, p.capability_ids[d], params)


def overlap(features: NetworkFeatures, a: int, b: int) -> list[str]:
    """Core offers both have: what a rivalry is about."""
    shared = features.core_of[a] & features.core_of[b]
    return sorted(features.projection.capability_ids[j] for j in shared)


def relation_reasons(
    features: NetworkFeatures, a: int, b: int, f: dict[str, float], competitor: bool,
    overlap_ids: list[str], path: list[str] | None,
) -> list[Reason]:
    p = features.projection
    name = _name(features, b)
    partner = ("partner", p.member_ids[b])
    reasons: list[Reason] = []
    if competitor:
        labels = ", ".join(p.taxonomy.nodes[c].get("label") or c for c in overlap_ids) or "the same market"
        how = "you compete directly" if f["rival"] else "you sell a core offer to one market"
        reasons.append(Reason("competitor", f"{name} is a rival ({how}: {labels}); suggested for "
                                            "non-core cooperation, on what lies outside both "
                                            "your core businesses", None,
                              (partner, ("direct", int(bool(f["rival"]))),
                               ("overlap", tuple(overlap_ids)))))
    if f["tie"] > 0:
        reasons.append(Reason("tie", f"You already work with {name}", None, (partner,)))
    if f["common"] > 0:
        n = int(f["common"])
        reasons.append(Reason("common", f"You have {n} partner{'s' if n > 1 else ''} in common",
                              None, (("count", n),)))
    if path and len(path) > 2:
        via = p.member_index[path[1]]
        reasons.append(Reason("intro", f"{_name(features, via)} knows both of you and can "
                                       "introduce you" if len(path) == 3 else
                              f"{_name(features, via)} can start an introduction "
                              f"({len(path) - 2} steps)", None,
                              (("via", path[1]), ("steps", len(path) - 2))))
    return reasons
