"""Who competes with whom: the one rival rule every part of the engine applies.

Two members are rivals when a facilitator confirmed it, when a ``COMPETES_WITH`` tie says so, or,
inferred, when they sell a core offer in common (the same capability id: the most specific level
each declares) to the same market: the same sector and the same region (both declared), or at
least one declared customer segment in common (``customers``). A facilitator's rejection
overrides the tie and the inference. Core offers are what a member marks
``core``, else its top offers (``matching.member_rows.core_offers``).

Suggestions (``NetworkFeatures.competitor``), consortia (``matching.consortium``), the roadmap
(``matching.roadmap``) and the facilitator's list of rivalries (``rivalries``) all go through
``competing``.
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
              same_region: np.ndarray, core_overlap: np.ndarray,
              shared_customers: np.ndarray) -> np.ndarray:
    """The rule, element by element:
    :math:`(R \\lor (((S \\land G) \\lor K > 0) \\land O > 0)) \\land \\lnot N`.

    ``rival`` (R) is a ``COMPETES_WITH`` tie or a confirmed rivalry, ``not_rival`` (N) a
    rejected one, ``same_sector`` (S) and ``same_region`` (G) the same declared sector and
    region, ``shared_customers`` (K) the number of declared customer segments both sell to (the
    same market is S and G, or K > 0), ``core_overlap`` (O) the number of core offers both have.

    >>> competing(np.array([0, 1, 0, 0]), np.array([0, 0, 1, 0]), np.array([1, 1, 1, 0]),
    ...           np.array([1, 1, 1, 0]), np.array([1, 0, 1, 2]), np.array([0, 0, 0, 1]))
    array([ True,  True, False,  True])
    """
    market = ((np.asarray(same_sector) > 0) & (np.asarray(same_region) > 0)) \
        | (np.asarray(shared_customers) > 0)
    inferred = market & (np.asarray(core_overlap) > 0)
    return ((np.asarray(rival) > 0) | inferred) & ~(np.asarray(not_rival) > 0)


def pair(a: str, b: str) -> tuple[str, str]:
    """The key of an unordered pair of member ids."""
    return (a, b) if a <= b else (b, a)


def same_value(codes: np.ndarray, rows: np.ndarray | None = None,
               columns: np.ndarray | None = None) -> np.ndarray:
    """``out[k, j]``: row ``rows[k]`` and j (``columns[j]`` when given) share a declared value
    (code >= 0; -1 is missing)."""
    rows = np.arange(len(codes)) if rows is None else np.asarray(rows)
    left = codes[rows, None]
    right = codes if columns is None else codes[columns]
    return (left == right[None, :]) & (left >= 0)


def market_codes(p: NetworkProjection) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of each member's sector and region; -1 where not declared."""
    out = []
    for key in ("sector", "region"):
        seen: dict[str, int] = {}
        values = [p.ties.nodes[m].get(key) if m in p.ties else None for m in p.member_ids]
        out.append(np.array([seen.setdefault(v, len(seen)) if v else -1 for v in values],
                            np.int64))
    return out[0], out[1]


def customers_of(p: NetworkProjection, mid: str) -> frozenset[str]:
    """The customer segments member ``mid`` declares it sells to (empty when none)."""
    return frozenset(p.ties.nodes[mid].get("customers") or ()) if mid in p.ties else frozenset()


def explicit_pairs(p: NetworkProjection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Pairs (``pair`` keys) that are rivals by a tie or a confirmed verdict, and pairs whose
    rivalry a facilitator rejected."""
    rivals = {pair(a, b) for a, b, kind in p.ties.edges(keys=True) if kind == RIVAL_TIE and a != b}
    rejected = set()
    for key, verdict in p.verdicts.items():
        (rivals if verdict["verdict"] == RIVALS else rejected).add(key)
    return rivals - rejected, rejected


def core_sets(p: NetworkProjection, rows: Sequence[int]) -> list[set[int]]:
    """Each member's core offers (capability columns), for ``rows``."""
    rows = np.asarray(rows, np.int64)
    core = core_offers(sp.csr_array(p.levels[rows]), sp.csr_array(p.core_flags[rows]))
    return [set(r) for r in rows_of(core)]


class _Pairs:
    """Every pair of ``rows`` positions (k < l) the rule needs to look at, with its inputs:
    pairs in one market with a core offer in common (found market by market, never over all
    pairs: a member is in the market of its sector and region and in one per customer segment
    it declares; a pair found in several is kept once), pairs with a tie or a confirmed verdict,
    and pairs with a rejected one."""

    def __init__(self, p: NetworkProjection, rows: Sequence[int]):
        rows = np.asarray(rows, np.int64)
        sector, region = market_codes(p)
        self.sector, self.region = sector[rows], region[rows]
        self.customers = [customers_of(p, p.member_ids[i]) for i in rows.tolist()]
        self.core = core_sets(p, rows)
        self.shared: dict[tuple[int, int], set[int]] = {}
        markets: dict[tuple[Any, ...], list[int]] = {}
        for k in range(len(rows)):
            if not self.core[k]:
                continue
            if self.sector[k] >= 0 and self.region[k] >= 0:
                markets.setdefault((int(self.sector[k]), int(self.region[k])), []).append(k)
            for segment in sorted(self.customers[k]):
                markets.setdefault(("customers", segment), []).append(k)
        for group in markets.values():
            by_offer: dict[int, list[int]] = {}
            for k in group:
                for c in self.core[k]:
                    by_offer.setdefault(c, []).append(k)
            for c, sellers in by_offer.items():
                for x, k in enumerate(sellers):
                    for l in sellers[x + 1:]:
                        self.shared.setdefault((k, l), set()).add(c)
        position = {p.member_ids[i]: k for k, i in enumerate(rows.tolist())}
        rivals, rejected = explicit_pairs(p)

        def positions(keys: set[tuple[str, str]]) -> set[tuple[int, int]]:
            return {(min(position[a], position[b]), max(position[a], position[b]))
                    for a, b in keys if a in position and b in position}

        self.rivals, self.rejected = positions(rivals), positions(rejected)
        self.keys = sorted(self.shared.keys() | self.rivals | self.rejected)

    def shared_customers(self, k: int, l: int) -> frozenset[str]:
        """The customer segments both ``k`` and ``l`` declare."""
        return self.customers[k] & self.customers[l]

    def competing(self) -> np.ndarray:
        """``competing`` for each of ``keys``."""
        keys = self.keys
        left = np.array([k for k, _ in keys], np.int64)
        right = np.array([l for _, l in keys], np.int64)
        return competing(np.array([key in self.rivals for key in keys], bool),
                         np.array([key in self.rejected for key in keys], bool),
                         (self.sector[left] == self.sector[right]) & (self.sector[left] >= 0),
                         (self.region[left] == self.region[right]) & (self.region[left] >= 0),
                         np.array([len(self.shared.get(key, ())) for key in keys]),
                         np.array([len(self.shared_customers(*key)) for key in keys]))


def rival_pairs(p: NetworkProjection, rows: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs (k, l), k < l, of positions in ``rows`` whose members are rivals (``competing``);
    sorted."""
    pairs = _Pairs(p, rows)
    if not pairs.keys:
        return []
    return [key for key, rivals in zip(pairs.keys, pairs.competing()) if rivals]


def rivalries(p: NetworkProjection) -> list[dict[str, Any]]:
    """Every pair the engine treats as rivals or that has a facilitator's verdict, ordered by
    the two member ids: ``a``, ``b`` (a < b), ``inferred`` (same market and a shared core offer),
    ``shared_core`` (those offers' ids, sorted), ``shared_customers`` (the customer segments both
    declare, sorted), ``tie`` (a ``COMPETES_WITH`` tie), ``verdict``
    (``"confirmed"``, ``"rejected"`` or ``None``), ``note`` and ``rivals`` (what the engine
    uses)."""
    rows = [p.member_index[m] for m in sorted(p.member_index)]  # positions in id order
    pairs = _Pairs(p, rows)
    ids = sorted(p.member_index)
    ties = {pair(a, b) for a, b, kind in p.ties.edges(keys=True) if kind == RIVAL_TIE and a != b}
    out = []
    for (k, l), rivals in zip(pairs.keys, pairs.competing() if pairs.keys else []):
        key = (ids[k], ids[l])
        verdict = p.verdicts.get(key, {})
        shared = pairs.shared.get((k, l), set())  # found within one market only
        out.append({"a": key[0], "b": key[1], "inferred": bool(shared),
                    "shared_core": sorted(p.capability_ids[c] for c in shared),
                    "shared_customers": sorted(pairs.shared_customers(k, l)),
                    "tie": key in ties,
                    "verdict": {RIVALS: "confirmed", NOT_RIVALS: "rejected"}.get(
                        verdict.get("verdict")),
                    "note": verdict.get("note"), "rivals": bool(rivals)})
    return out
