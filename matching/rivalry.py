"""Who competes with whom: the one rival rule every part of the engine applies.

Two members are rivals when a facilitator confirmed it, when a ``COMPETES_WITH`` tie says so, or,
inferred, when they sell a core offer in common (the same capability id: the most specific level
each declares) to the same market (the same sector and the same region, both declared). A
facilitator's rejection overrides the tie and the inference. Core offers are what a member marks
``core``, else its top offers (``matching.member_rows.core_offers``).

Suggestions (``NetworkFeatures.competitor``), consortia (``matching.consortium``) and the
facilitator's list of rivalries (``rivalries``) all go through ``competing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.member_rows import core_offers, rows_of
from matching.projection import NetworkProjection

RIVAL_TIE = "COMPETES_WITH"
RIVALS = "rivals"  # a facilitator's verdict: these two compete
NOT_RIVALS = "not_rivals"  # a facilitator's verdict: these two do not compete after all
VERDICTS = (RIVALS, NOT_RIVALS)


def competing(rival: np.ndarray, not_rival: np.ndarray, same_sector: np.ndarray,
              same_region: np.ndarray, core_overlap: np.ndarray) -> np.ndarray:
    """The rule, element by element: :math:`(R \\lor (S \\land G \\land O > 0)) \\land \\lnot N`.

    ``rival`` (R) is a ``COMPETES_WITH`` tie or a confirmed rivalry, ``not_rival`` (N) a
    rejected one, ``same_sector`` (S) and ``same_region`` (G) the same declared market,
    ``core_overlap`` (O) the number of core offers both have.

    >>> competing(np.array([0, 1, 0]), np.array([0, 0, 1]), np.ones(3), np.ones(3),
    ...           np.array([1, 0, 1]))
    array([ True,  True, False])
    """
    inferred = (np.asarray(same_sector) > 0) & (np.asarray(same_region) > 0) \
        & (np.asarray(core_overlap) > 0)
    return ((np.asarray(rival) > 0) | inferred) & ~(np.asarray(not_rival) > 0)


def pair(a: str, b: str) -> tuple[str, str]:
    """The key of an unordered pair of member ids."""
    return (a, b) if a <= b else (b, a)


def same_value(codes: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``out[k, j]``: row ``rows[k]`` and j share a declared value (code >= 0; -1 is missing)."""
    rows = np.arange(len(codes)) if rows is None else np.asarray(rows)
    left = codes[rows, None]
    return (left == codes[None, :]) & (left >= 0)


def market_codes(p: NetworkProjection) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of each member's sector and region; -1 where not declared."""
    out = []
    for key in ("sector", "region"):
        seen: dict[str, int] = {}
        values = [p.ties.nodes[m].get(key) if m in p.ties else None for m in p.member_ids]
        out.append(np.array([seen.setdefault(v, len(seen)) if v else -1 for v in values],
                            np.int64))
    return out[0], out[1]


def explicit_pairs(p: NetworkProjection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Pairs (``pair`` keys) that are rivals by a tie or a confirmed verdict, and pairs whose
    rivalry a facilitator rejected."""
    rivals = {pair(a, b) for a, b, kind in p.ties.edges(keys=True) if kind == RIVAL_TIE and a != b}
    rejected = set()
    for key, verdict in p.verdicts.items():
        (rivals if verdict["verdict"] == RIVALS else rejected).add(key)
    return rivals - rejected, rejected


def rival_pairs(p: NetworkProjection, rows: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs (k, l), k < l, of positions in ``rows`` whose members are rivals (``competing``)."""
    rows = np.asarray(rows, np.int64)
    if len(rows) < 2:
        return []
    sector, region = market_codes(p)
    sector, region = sector[rows], region[rows]
    core = core_offers(sp.csr_array(p.levels[rows]), sp.csr_array(p.core_flags[rows]))
    overlap = (core @ core.T).toarray()
    rivals, rejected = explicit_pairs(p)
    ids = [p.member_ids[i] for i in rows]
    position = {mid: k for k, mid in enumerate(ids)}
    n = len(rows)
    rival, not_rival = np.zeros((n, n), bool), np.zeros((n, n), bool)
    for target, keys in ((rival, rivals), (not_rival, rejected)):
        for a, b in keys:
            if a in position and b in position:
                target[position[a], position[b]] = target[position[b], position[a]] = True
    verdict = competing(rival, not_rival, same_value(sector), same_value(region), overlap)
    return [(k, int(l)) for k in range(n) for l in np.flatnonzero(verdict[k, k + 1:]) + k + 1]


def core_sets(p: NetworkProjection, rows: Sequence[int]) -> list[set[int]]:
    """Each member's core offers (capability columns), for ``rows``."""
    core = core_offers(sp.csr_array(p.levels[np.asarray(rows, np.int64)]),
                       sp.csr_array(p.core_flags[np.asarray(rows, np.int64)]))
    return [set(r) for r in rows_of(core)]


def rivalries(p: NetworkProjection) -> list[dict[str, Any]]:
    """Every pair the engine treats as rivals or that has a facilitator's verdict, ordered by
    the two member ids: ``a``, ``b`` (a < b), ``inferred`` (same market and a shared core offer),
    ``shared_core`` (those offers' ids, sorted), ``tie`` (a ``COMPETES_WITH`` tie), ``verdict``
    (``"confirmed"``, ``"rejected"`` or ``None``), ``note`` and ``rivals`` (what the engine
    uses)."""
    rows = np.arange(p.n_members)
    sector, region = market_codes(p)
    core = core_sets(p, rows)
    ids, index = p.member_ids, p.member_index
    live = [i for i in rows.tolist() if index.get(ids[i]) == i]
    shared: dict[tuple[str, str], list[str]] = {}
    markets: dict[tuple[int, int], list[int]] = {}
    for i in live:
        if sector[i] >= 0 and region[i] >= 0 and core[i]:
            markets.setdefault((int(sector[i]), int(region[i])), []).append(i)
    for group in markets.values():
        for x, i in enumerate(group):
            for j in group[x + 1:]:
                common = core[i] & core[j]
                if common:
                    shared[pair(ids[i], ids[j])] = sorted(p.capability_ids[c] for c in common)
    ties = {pair(a, b) for a, b, kind in p.ties.edges(keys=True) if kind == RIVAL_TIE and a != b
            and a in index and b in index}
    verdicts = {key: v for key, v in p.verdicts.items() if key[0] in index and key[1] in index}
    out = []
    for key in sorted(shared.keys() | ties | verdicts.keys()):
        verdict = verdicts.get(key, {}).get("verdict")
        rivals = bool(competing(np.array(key in ties or verdict == RIVALS),
                                np.array(verdict == NOT_RIVALS), np.array(key in shared),
                                np.array(key in shared), np.array(len(shared.get(key, ())))))
        out.append({"a": key[0], "b": key[1], "inferred": key in shared,
                    "shared_core": shared.get(key, []), "tie": key in ties,
                    "verdict": {RIVALS: "confirmed", NOT_RIVALS: "rejected"}.get(verdict),
                    "note": verdicts.get(key, {}).get("note"), "rivals": rivals})
    return out
