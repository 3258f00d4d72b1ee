"""Pair features of one network, computed for a block of query members against everyone.

Everything is vectorised: a block of ``r`` query members gives ``r x n`` arrays, so one member's
suggestions cost a few sparse matrix-vector products, and a whole network is done in blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
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
LABEL_SIMILARITY_FLOOR = 0.5
FEATURES = ("benefit_to_member", "benefit_to_partner", "non_core_benefit", "text", "tie", "common",
            "adamic_adar", "rival", "core_overlap", "same_sector", "same_region", "preferential")


class View(StrEnum):
    """Whose confidential data a score may read.

    A member's weaknesses are confidential to the member, its facilitators and admins, so the
    demand of a member (what it wants covered) has two forms: the full one (needs and weaknesses)
    and the public one (needs only). A view says which form each side of a pair uses.
    """

    FACILITATOR = "facilitator"  # everyone's needs and weaknesses (facilitators, admins)
    MEMBER = "member"  # the query member's own needs and weaknesses; candidates' needs only
    PUBLIC = "public"  # needs only, on both sides (analysts, anything network-wide)


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


@dataclass
class NetworkFeatures:
    """The matrices every scorer needs, computed once per projection.

    ``demand[a, d]`` is how much member a wants capability d: urgency/5 for a need and
    ``weakness_weight`` * severity/5 for a weakness (the larger of the two). ``coverage[d, b]`` is
    how well member b covers d: :math:`\\min(1, \\sum_c S_{dc} \\, level_{bc} / 5)` with S the
    taxonomy coverage matrix.

    The public forms (``public_demand``, ``public_non_core_demand``, ``public_want_words``) read
    needs only, normalised by the needs' own totals: nothing computed from them depends on
    anyone's weaknesses.
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
        self.non_core_demand = _row_normalised(self._non_core(demand), totals)
        need_totals = np.asarray(needs.sum(axis=1)).ravel()
        self.public_demand = _row_normalised(needs, need_totals)
        self.public_demand_t = sp.csr_array(self.public_demand.T)
        self.public_non_core_demand = _row_normalised(self._non_core(needs), need_totals)

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
        pos: dict[tuple[int, int], float] = {}
        comp: dict[tuple[int, int], float] = {}
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
        r"""Two text signals, both cheap to score in blocks.

        - Capability labels: :math:`T` is the cosine of TF-IDF character n-grams of each
          capability's label and synonyms (which match across English and Spanish spellings),
          kept where :math:`\ge` ``LABEL_SIMILARITY_FLOOR``; a's wants meet b's offers through
          it: :math:`\min(1, \hat D_a T \, L_b^\top)`. Done at the level of capabilities, the
          product stays as sparse as the taxonomy coverage.
        - Descriptions: the cosine of word TF-IDF of the labels a wants and the description b
          wrote; words in more than a fifth of descriptions are dropped, which removes stop words
          in any language and keeps the product sparse.
        """
        p = self.projection
        tax = p.taxonomy.nodes
        labels = [" ".join([tax[c].get("label") or c, *tax[c].get("synonyms", [])])
                  for c in p.capability_ids]
        try:
            chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                    strip_accents="unicode").fit_transform(labels)
            similar = sp.csr_array(chars @ chars.T, dtype=np.float32)
            similar.data[similar.data < LABEL_SIMILARITY_FLOOR] = 0
            similar.eliminate_zeros()
        except ValueError:  # no labels at all
            similar = sp.eye_array(m, dtype=np.float32, format="csr")
        self.label_text = sp.csr_array(similar @ self.levels.T)
        self.label_text.data = np.minimum(self.label_text.data, 1.0)

        descriptions = [p.ties.nodes[mid].get("description") or "" for mid in p.member_ids]

        def wants(matrix) -> list[str]:
            return [" ".join(labels[j] for j in row) for row in _rows(sp.csr_array(matrix))]

        vectoriser = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                     strip_accents="unicode",
                                     max_df=0.2 if p.n_members >= 100 else 1.0)
        try:
            vectoriser.fit(descriptions)
            self.description_t = sp.csr_array(normalize(vectoriser.transform(descriptions)).T)
            self.want_words = sp.csr_array(normalize(vectoriser.transform(
                wants(p.urgencies + p.severities))))
            self.public_want_words = sp.csr_array(normalize(vectoriser.transform(
                wants(p.urgencies))))
        except ValueError:  # no descriptions, or every word too common
            self.description_t = sp.csr_array((1, p.n_members), dtype=np.float32)
            self.want_words = sp.csr_array((p.n_members, 1), dtype=np.float32)
            self.public_want_words = self.want_words

    # -- blocks -------------------------------------------------------------------------------
    def block(self, rows: np.ndarray, names: tuple[str, ...] | None = None,
              view: View | str = View.FACILITATOR) -> dict[str, np.ndarray]:
        """Features of every (a, b) with a in ``rows``: each an ``len(rows) x n`` array.

        Only ``names`` are computed (default: all of ``FEATURES``). ``view`` says whose demand
        counts (see ``View``): a's own demand is full in the facilitator and member views, b's
        demand is full only in the facilitator view; elsewhere it is needs only. Only the
        benefits and ``text`` read demand.

        - ``benefit_to_member``: :math:`\\sum_d \\hat D_{ad} \\, C_{db}`, the share of a's weighted
          needs and weaknesses that b covers (0-1);
        - ``benefit_to_partner``: the same with a and b swapped;
        - ``non_core_benefit``: the benefit to a from its purchases, know-how and certifications
          only (what a rival may offer);
        - ``text``: the mean of the label and description similarities of ``_text`` (0-1);
        - ``tie``: strength of a direct positive tie; ``common``: common partners;
          ``adamic_adar``: :math:`\\sum_{z} 1/\\log \\deg z` over common partners;
        - ``rival``: an explicit COMPETES_WITH tie; ``core_overlap``: core capabilities both
          offer at level >= 3; ``same_sector``, ``same_region``;
        - ``preferential``: :math:`\\log(1 + \\deg a \\deg b)`.
        """
        rows = np.asarray(rows)
        wanted = FEATURES if names is None else names
        view = View(view)
        return {name: self._compute(name, rows, view) for name in wanted}

    def _compute(self, name: str, rows: np.ndarray, view: View) -> np.ndarray:
        def dense(x) -> np.ndarray:
            return np.asarray(x.toarray() if sp.issparse(x) else x, np.float32)

        own_full = view is not View.PUBLIC  # the query member's weaknesses count
        match name:
            case "benefit_to_member":
                demand = self.demand if own_full else self.public_demand
                return dense(demand[rows] @ self.coverage)
            case "benefit_to_partner":
                partner = self.demand_t if view is View.FACILITATOR else self.public_demand_t
                return dense(self.coverage_t[rows] @ partner)
            case "non_core_benefit":
                demand = self.non_core_demand if own_full else self.public_non_core_demand
                return dense(demand[rows] @ self.coverage)
            case "text":
                demand = self.demand if own_full else self.public_demand
                words = self.want_words if own_full else self.public_want_words
                labels = dense(demand[rows] @ self.label_text)
                labels += dense(words[rows] @ self.description_t)
                labels *= 0.5
                return labels
            case "tie":
                return dense(self.tie_strength[rows])
            case "common":
                return dense(self.linked[rows] @ self.linked)
            case "adamic_adar":
                return dense(self.linked_aa[rows] @ self.linked)
            case "rival":
                return dense(self.rivals[rows])
            case "core_overlap":
                return dense(self.core[rows] @ self.core_t)
            case "same_sector":
                return (self.sector[rows, None] == self.sector[None, :]).astype(np.float32)
            case "same_region":
                return (self.region[rows, None] == self.region[None, :]).astype(np.float32)
            case "preferential":
                return np.log1p(np.outer(self.degree[rows], self.degree)).astype(np.float32)
        raise KeyError(name)

    def competitor(self, f: dict[str, np.ndarray]) -> np.ndarray:
        """Rivals: a COMPETES_WITH tie, or the same sector and region with overlapping core offers."""
        inferred = (f["same_sector"] > 0) & (f["same_region"] > 0) & (f["core_overlap"] > 0)
        return (f["rival"] > 0) | inferred
