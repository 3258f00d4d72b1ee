"""Pair features of one network, computed for a block of query members against everyone.

Everything is vectorised: a block of ``r`` query members gives ``r x n`` arrays, so one member's
suggestions cost a few sparse matrix-vector products, and a whole network is done in blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from matching.projection import NetworkProjection
from matching.taxonomy import coverage_matrix

POSITIVE_TIES = ("COLLABORATES_WITH", "TRUSTS", "SUPPLIES")
# What rivals can share without touching each other's core business.
NON_CORE_CAPABILITY_KINDS = frozenset({"purchase", "knowhow", "certification", "asset"})
NON_CORE_NEED_KINDS = frozenset({"purchase", "knowhow"})
CORE_CAPABILITY_KINDS = frozenset({"service", "product", None})
CORE_LEVEL = 3
DEFAULT_TIE_WEIGHT = 0.5


def _csr(rows, cols, data, shape) -> sp.csr_array:
    return sp.csr_array((np.asarray(data, np.float32), (rows, cols)), shape=shape)


def _row_normalised(matrix: sp.csr_array, totals: np.ndarray) -> sp.csr_array:
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    return sp.csr_array(sp.diags_array(scale) @ matrix)


def _rows(matrix: sp.csr_array) -> list[dict[int, float]]:
    """Each row of a CSR matrix as {column: value}."""
    matrix = sp.csr_array(matrix)
    ptr, cols, vals = matrix.indptr, matrix.indices.tolist(), matrix.data.tolist()
    return [dict(zip(cols[ptr[i]:ptr[i + 1]], vals[ptr[i]:ptr[i + 1]]))
            for i in range(matrix.shape[0])]


def _codes(values: list[str | None]) -> np.ndarray:
    """Integer codes per distinct value; -1 for a missing one (never equal to anything)."""
    seen: dict[str, int] = {}
    return np.array([seen.setdefault(v, len(seen)) if v else -1 for v in values], np.int64)


def _member_texts(projection: NetworkProjection, matrix: sp.csr_array, extra: list[str]) -> list[str]:
    tax = projection.taxonomy.nodes
    texts = []
    for i in range(projection.n_members):
        row = matrix[[i], :]
        words = [extra[i]]
        for j in row.indices:
            node = tax[projection.capability_ids[j]]
            words += [node.get("label") or "", *node.get("synonyms", [])]
        texts.append(" ".join(w for w in words if w))
    return texts


@dataclass
class NetworkFeatures:
    """The matrices every scorer needs, computed once per projection.

    ``demand[a, d]`` is how much member a wants capability d: urgency/5 for a need and
    ``weakness_weight`` * severity/5 for a weakness (the larger of the two). ``coverage[d, b]`` is
    how well member b covers d: :math:`\\min(1, \\sum_c S_{dc} \\, level_{bc} / 5)` with S the
    taxonomy coverage matrix.
    """

    projection: NetworkProjection
    weakness_weight: float = 0.8

    def __post_init__(self) -> None:
        p = self.projection
        n, m = p.n_members, len(p.capability_ids)
        self.coverage_of = coverage_matrix(p.taxonomy, p.capability_ids)
        self.levels = sp.csr_array(p.levels / 5.0)
        self.coverage = sp.csr_array(self.coverage_of @ self.levels.T)
        self.coverage.data = np.minimum(self.coverage.data, 1.0)
        self.coverage_t = sp.csr_array(self.coverage.T)  # n x m: rows of candidates, cheap to slice

        needs = sp.csr_array(p.urgencies / 5.0)
        weak = sp.csr_array(p.severities / 5.0 * self.weakness_weight)
        demand = sp.csr_array(needs.maximum(weak))
        totals = np.asarray(demand.sum(axis=1)).ravel()
        self.demand = _row_normalised(demand, totals)
        self.demand_t = sp.csr_array(self.demand.T)
        self.need_share = _row_normalised(needs, totals)  # the part of demand others may be told
        self.non_core_demand = _row_normalised(self._non_core(demand), totals)

        core_kinds = np.array([p.taxonomy.nodes[c].get("kind") in CORE_CAPABILITY_KINDS
                               for c in p.capability_ids])
        core = sp.csr_array(p.levels >= CORE_LEVEL, dtype=np.float32)
        self.core = sp.csr_array(core @ sp.diags_array(core_kinds.astype(np.float32)))
        self.core_t = sp.csr_array(self.core.T)

        # Row-wise dicts for explaining a handful of pairs without slicing sparse matrices.
        self.levels_of = _rows(p.levels)
        self.urgency_of = _rows(p.urgencies)
        self.severity_of = _rows(p.severities)
        self.non_core_of = [set(r) for r in _rows(self.non_core_demand)]
        self.core_of = [set(r) for r in _rows(self.core)]
        self.covers = _rows(self.coverage_of)

        self.sector = _codes([p.ties.nodes[mid].get("sector") for mid in p.member_ids])
        self.region = _codes([p.ties.nodes[mid].get("region") for mid in p.member_ids])
        self._tie_matrices(n)
        self._text(m)

    def _non_core(self, demand: sp.csr_array) -> sp.csr_array:
        """Demand restricted to what rivals may share: purchases, know-how, certifications."""
        p = self.projection
        kinds = [p.taxonomy.nodes[c].get("kind") for c in p.capability_ids]
        keep_rows, keep_cols = [], []
        for i, needs in enumerate(p.needs):
            for need in needs:
                if need.get("kind") in NON_CORE_NEED_KINDS:
                    keep_rows.append(i)
                    keep_cols.append(p.capability_index[need["id"]])
        mask = _csr(keep_rows, keep_cols, np.ones(len(keep_rows)), demand.shape)
        kind_mask = np.array([k in NON_CORE_CAPABILITY_KINDS for k in kinds], np.float32)
        by_kind = sp.csr_array(demand @ sp.diags_array(kind_mask))
        return sp.csr_array(by_kind.maximum(demand.multiply(mask)))

    def _tie_matrices(self, n: int) -> None:
        p = self.projection
        idx = p.member_index
        pos, comp = {}, {}
        for a, b, data in p.ties.edges(data=True):
            i, j = idx[a], idx[b]
            if data["type"] == "COMPETES_WITH":
                comp[(i, j)] = comp[(j, i)] = 1.0
            elif data["type"] in POSITIVE_TIES:
                w = float(data.get("weight") or DEFAULT_TIE_WEIGHT)
                for key in ((i, j), (j, i)):
                    pos[key] = max(pos.get(key, 0.0), min(w, 1.0))

        def matrix(entries: dict) -> sp.csr_array:
            if not entries:
                return sp.csr_array((n, n), dtype=np.float32)
            rows, cols = zip(*entries)
            return _csr(rows, cols, list(entries.values()), (n, n))

        self.tie_strength = matrix(pos)
        self.rivals = matrix(comp)
        self.linked = sp.csr_array(self.tie_strength > 0, dtype=np.float32)
        degree = np.asarray(self.linked.sum(axis=1)).ravel()
        self.degree = degree
        inv_log = np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2)), 0.0)
        self.linked_aa = sp.csr_array(self.linked @ sp.diags_array(inv_log))

    def _text(self, m: int) -> None:
        p = self.projection
        descriptions = [p.ties.nodes[mid].get("description") or "" for mid in p.member_ids]
        offers = _member_texts(p, p.levels, descriptions)
        wants = _member_texts(p, sp.csr_array(p.urgencies + p.severities), [""] * p.n_members)
        # Words and character n-grams: the latter match across English and Spanish spellings.
        vectoriser = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                      min_df=1)),
        ])
        try:
            matrix = vectoriser.fit_transform(offers + wants)
        except ValueError:  # an empty vocabulary: no text at all
            matrix = sp.csr_array((2 * p.n_members, 1), dtype=np.float32)
        matrix = normalize(sp.csr_array(matrix, dtype=np.float32))
        self.offer_text = sp.csr_array(matrix[: p.n_members])
        self.offer_text_t = sp.csr_array(self.offer_text.T)
        self.want_text = sp.csr_array(matrix[p.n_members:])

    # -- blocks -------------------------------------------------------------------------------
    def block(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Features of every (a, b) with a in ``rows``: each an ``len(rows) x n`` array.

        - ``benefit_to_member``: :math:`\\sum_d \\hat D_{ad} \\, C_{db}`, the share of a's weighted
          needs and weaknesses that b covers (0-1);
        - ``benefit_to_partner``: the same with a and b swapped;
        - ``non_core_benefit``: the benefit to a from its purchases, know-how and certifications
          only (what a rival may offer);
        - ``text``: cosine of TF-IDF vectors of a's wants and b's offers;
        - ``tie``: strength of a direct positive tie; ``common``: common partners;
          ``adamic_adar``: :math:`\\sum_{z} 1/\\log \\deg z` over common partners;
        - ``rival``: an explicit COMPETES_WITH tie; ``core_overlap``: core capabilities both
          offer at level >= 3; ``same_sector``, ``same_region``;
        - ``preferential``: :math:`\\log(1 + \\deg a \\deg b)`.
        """
        rows = np.asarray(rows)
        dense = lambda x: np.asarray(x.toarray() if sp.issparse(x) else x, np.float32)  # noqa: E731
        out = {
            "benefit_to_member": dense(self.demand[rows] @ self.coverage),
            "benefit_to_partner": dense(self.coverage_t[rows] @ self.demand_t),
            "non_core_benefit": dense(self.non_core_demand[rows] @ self.coverage),
            "text": dense(self.want_text[rows] @ self.offer_text_t),
            "tie": dense(self.tie_strength[rows]),
            "common": dense(self.linked[rows] @ self.linked),
            "adamic_adar": dense(self.linked_aa[rows] @ self.linked),
            "rival": dense(self.rivals[rows]),
            "core_overlap": dense(self.core[rows] @ self.core_t),
            "same_sector": (self.sector[rows, None] == self.sector[None, :]).astype(np.float32),
            "same_region": (self.region[rows, None] == self.region[None, :]).astype(np.float32),
            "preferential": np.log1p(np.outer(self.degree[rows], self.degree)).astype(np.float32),
        }
        return out

    def competitor(self, f: dict[str, np.ndarray]) -> np.ndarray:
        """Rivals: a COMPETES_WITH tie, or the same sector and region with overlapping core offers."""
        inferred = (f["same_sector"] > 0) & (f["same_region"] > 0) & (f["core_overlap"] > 0)
        return (f["rival"] > 0) | inferred
