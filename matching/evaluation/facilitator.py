"""Suggestions read as a facilitator reads them: member by member, top 5, on a seed network.

Computed from the engine's own answers (``PartnerMatcher.suggest``), never hard-coded:

- **existing partners** among the new-partner suggestions (a positive tie: collaborates, trusts,
  supplies), and suggestions with **benefit 0** to the member;
- **concentration** of #1 positions: the share of members whose #1 is the most frequent #1
  provider, and the Gini coefficient of #1 counts over every member of the network;
- **coverage**: the share of all member needs (member, capability) that some member in the
  member's own top 5 covers (coverage > 0; the top 5 new partners and, where the engine has it,
  the top 5 partners to strengthen), of every need and of the needs some member can cover; and
  ``coverage_new``: needs covered by a new partner in the top 5, of those some non-partner can
  cover;
- **hit@5** against a facilitator's written expectations (``seed_data/expectations``): the share
  of expected members with at least one expected partner in their top 5, and the share of expected
  partners found.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from matching.features import POSITIVE_TIES, View
from matching.scoring import PartnerMatcher
from matching.taxonomy import synonym_groups

EXPECTATIONS = Path(__file__).resolve().parents[2] / "seed_data" / "expectations" / \
    "facilitator.json"


def gini(values: list[float]) -> float:
    r"""Gini coefficient of non-negative values: 0 when equal, :math:`1 - 1/n` when one has all.

    .. math:: G = \frac{\sum_i \sum_j |x_i - x_j|}{2 n \sum_i x_i}

    >>> gini([1, 1, 1, 1]), round(gini([4, 0, 0, 0]), 2)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), float(x.sum())
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * total))


def load_expectations(network: str, path: Path = EXPECTATIONS) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return json.load(f).get(network, [])


def _partners(matcher: PartnerMatcher, mid: str) -> set[str]:
    ties = matcher.projection_.ties
    out = {b for _, b, t in ties.out_edges(mid, keys=True) if t in POSITIVE_TIES}
    return out | {a for a, _, t in ties.in_edges(mid, keys=True) if t in POSITIVE_TIES}


def suggestion_lists(matcher: PartnerMatcher, view: View | str = View.FACILITATOR,
                     limit: int = 5) -> dict[str, list[Any]]:
    """Every member's top ``limit`` new-partner suggestions, by member id."""
    return {mid: matcher.suggest(mid, limit=limit, view=view)
            for mid in sorted(matcher.projection_.member_index)}


def direct_coverage(matcher: PartnerMatcher, taxonomy: list[dict[str, Any]]) -> sp.csr_array:
    """The yardstick of coverage, the same for every engine: ``[d, b]`` is true when member b
    offers capability d itself, a synonym, a narrower capability, or one that ``serves`` d
    (the taxonomy rows' explicit relation). Siblings and broader offers do not count."""
    p = matcher.projection_
    index = p.capability_index
    narrower = p.taxonomy.reverse(copy=False)
    rows, cols = [], []
    for d in p.capability_ids:
        for c in nx.descendants(narrower, d) | {d}:
            rows.append(index[d])
            cols.append(index[c])
    for row in taxonomy:
        for d in row.get("serves") or ():
            if d in index and row["id"] in index:
                rows.append(index[d])
                cols.append(index[row["id"]])
    for ids in synonym_groups(p.taxonomy).values():
        for d in ids:
            for c in ids:
                rows.append(index[d])
                cols.append(index[c])
    m = len(p.capability_ids)
    s = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    return sp.csr_array((s @ sp.csr_array(p.levels > 0, dtype=float).T) > 0)


def quality_report(matcher: PartnerMatcher, network: str | None = None,
                   view: View | str = View.FACILITATOR, limit: int = 5,
                   expectations: list[dict[str, Any]] | None = None,
                   coverage: sp.csr_array | None = None) -> dict[str, Any]:
    """The figures of this module for one fitted network (see the module docstring);
    ``coverage`` is the yardstick (default: the engine's own coverage)."""
    p = matcher.projection_
    f = matcher.features_
    lists = suggestion_lists(matcher, view, limit)
    shown = sum(len(s) for s in lists.values())
    existing = sum(s.member in _partners(matcher, mid) for mid, ss in lists.items() for s in ss)
    zero = sum(s.benefit_to_member <= 0 for ss in lists.values() for s in ss)
    firsts = Counter(ss[0].member for ss in lists.values() if ss)
    counts = [firsts.get(mid, 0) for mid in p.member_index]
    top_provider, top_count = (firsts.most_common(1) or [(None, 0)])[0]
    coverage = sp.csr_array(f.coverage if coverage is None else coverage)
    kept = {mid: matcher.strengthen(mid, limit=limit, view=view)
            for mid in lists} if hasattr(matcher, "strengthen") else {}
    needs = covered = coverable = coverable_new = covered_new = 0
    for mid, ss in lists.items():
        a = p.member_index[mid]
        new = [p.member_index[s.member] for s in ss]
        listed = set(new) | {p.member_index[s.member] for s in kept.get(mid, [])}
        partners = {p.member_index[b] for b in _partners(matcher, mid)}
        for d in f.urgency_of[a]:
            providers = set(coverage[[d], :].indices.tolist()) - {a}
            needs += 1
            coverable += bool(providers)
            coverable_new += bool(providers - partners)
            covered += bool(providers & listed)
            covered_new += bool(providers & set(new) - partners)
    report = {
        "members": len(p.member_index), "suggestions": shown,
        "existing_partners": existing, "benefit_zero": zero,
        "top1_provider": top_provider, "top1_count": top_count,
        "top1_share": round(top_count / max(1, sum(1 for ss in lists.values() if ss)), 3),
        "top1_gini": round(gini(counts), 3), "top1_distinct": len(firsts),
        "needs": needs, "needs_coverable": coverable, "needs_covered": covered,
        "coverage_all": round(covered / max(1, needs), 3),
        "coverage_coverable": round(covered / max(1, coverable), 3),
        "needs_coverable_new": coverable_new, "needs_covered_new": covered_new,
        "coverage_new": round(covered_new / max(1, coverable_new), 3),
    }
    if expectations is None and network is not None:
        expectations = load_expectations(network)
    if expectations:
        hits = found = wanted = 0
        for e in expectations:
            top = {s.member for s in lists.get(e["member"], [])}
            expected = set(e.get("introduce", []))
            hits += bool(top & expected)
            found += len(top & expected)
            wanted += len(expected)
        report.update({"expected_members": len(expectations),
                       "hit_at_5": round(hits / len(expectations), 3),
                       "recall_at_5": round(found / max(1, wanted), 3),
                       "never_shown": sum(len(set(e.get("never", [])) & {
                           s.member for s in lists.get(e["member"], [])}) for e in expectations)})
    return report


def seed_matcher(network: str, seed_dir: Path | None = None, **params: Any) -> PartnerMatcher:
    """A matcher fitted on seed network ``network`` (its document and the shared taxonomy)."""
    from matching.projection import build_projection

    seed_dir = seed_dir or EXPECTATIONS.parents[1]
    taxonomy = json.loads((seed_dir / "taxonomy.json").read_text(encoding="utf-8"))
    doc = json.loads((seed_dir / f"{network}.json").read_text(encoding="utf-8"))
    projection = build_projection(doc["network"], taxonomy["capabilities"]
                                  + doc.get("capabilities", []), doc["members"], doc["ties"])
    return PartnerMatcher(**params).fit(projection)
