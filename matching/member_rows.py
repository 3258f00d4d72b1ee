"""The member-indexed arrays of ``NetworkFeatures``, one member's row at a time if need be.

Every array here is row-local: member a's row is computed from a's own capabilities, weaknesses,
needs and description and from the taxonomy, never from other members. So the live engine
recomputes just the rows of the members a write touched, and gets bit for bit the rows a fit from
scratch would compute (a sparse product's row depends on the left operand's row only). Nothing
here is learned from the whole network: the description words are hashed, not weighted by IDF.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
from sklearn.preprocessing import normalize

from matching.rows import Rows
from matching.taxonomy import coverage_matrix

CORE_LEVEL = 3  # a member's top offers are its core business only from this level up
LABEL_SIMILARITY_FLOOR = 0.5
# Function words of the networks' languages: what IDF used to discount, as a fixed list, so a
# description's vector depends on that description alone.
SPANISH_STOP_WORDS = frozenset("""
a al algo algunos ante antes como con contra cual cuando de del desde donde durante e el ella
ellos en entre era es esa ese eso esta estan este esto estos fue ha hace han hasta hay la las le
les lo los mas me mi muy nos o otra otro para pero por que se ser si sin sino sobre son su sus
tambien tiene todo todos u un una uno unos y ya
""".split())
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | SPANISH_STOP_WORDS)
HASH_FEATURES = 2 ** 18

# Row-local arrays (n x something), named as ``NetworkFeatures`` attributes.
ROW_ARRAYS = ("levels", "coverage_t", "demand", "zoned_demand", "public_demand",
              "public_zoned_demand", "core", "zone", "zoned_coverage_t", "label_text_t",
              "description", "want_words", "public_want_words")


def _csr(rows, cols, data, shape) -> sp.csr_array:
    return sp.csr_array((np.asarray(data, np.float32), (rows, cols)), shape=shape)


def _row_normalised(matrix: sp.csr_array) -> sp.csr_array:
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    return sp.csr_array(sp.diags_array(scale) @ matrix)


def rows_of(matrix: sp.csr_array | Rows, rows: Sequence[int] | np.ndarray | None = None
            ) -> list[dict[int, float]]:
    """Each row of a CSR matrix (or the rows ``rows`` of it) as {column: value}, columns
    ascending."""
    if not isinstance(matrix, Rows) and not (isinstance(matrix, sp.csr_array)
                                             and matrix.has_sorted_indices):
        matrix = sp.csr_array(matrix)
        matrix.sort_indices()
    if rows is not None:  # a few rows, read where they are (indexing would copy them)
        out = []
        for i in np.asarray(rows).tolist():
            lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
            out.append(dict(zip(matrix.indices[lo:hi].tolist(), matrix.data[lo:hi].tolist())))
        return out
    ptr, cols, vals = matrix.indptr, matrix.indices.tolist(), matrix.data.tolist()
    return [dict(zip(cols[ptr[i]:ptr[i + 1]], vals[ptr[i]:ptr[i + 1]]))
            for i in range(matrix.shape[0])]


@dataclass
class TaxonomyParts:
    """What every member row reads from the taxonomy: computed once per taxonomy version.

    Label similarity hashes character n-grams without IDF, so a capability's similarities do
    not move when capabilities that no member of the network uses are added to the taxonomy.
    """

    capability_ids: list[str]
    capability_index: dict[str, int]
    coverage_of: sp.csr_array  # S: how well offering c covers d
    labels: list[str]  # label and synonyms per capability
    similar: sp.csr_array  # label similarity (character n-grams), symmetric
    line: sp.csr_array  # line[c, d] = 1: d is c, above c or below c (the same line of business)

    @classmethod
    def of(cls, taxonomy: nx.DiGraph, capability_ids: list[str]) -> TaxonomyParts:
        tax = taxonomy.nodes
        labels = [" ".join([tax[c].get("label") or c, *tax[c].get("synonyms", [])])
                  for c in capability_ids]
        m = len(capability_ids)
        if m:
            chars = _hashed(labels, analyzer="char_wb", ngram_range=(3, 5))
            similar = sp.csr_array(chars @ chars.T, dtype=np.float32)
            similar.data[similar.data < LABEL_SIMILARITY_FLOOR] = 0
            similar.eliminate_zeros()
        else:
            similar = sp.csr_array((0, 0), dtype=np.float32)
        index = {c: j for j, c in enumerate(capability_ids)}
        rows, cols = [], []
        for c in capability_ids:
            related = {c} | nx.ancestors(taxonomy, c) | nx.descendants(taxonomy, c) \
                if c in taxonomy else {c}
            for d in related:
                if d in index:
                    rows.append(index[c])
                    cols.append(index[d])
        line = _csr(rows, cols, np.ones(len(rows)), (m, m))
        line.sort_indices()
        return cls(capability_ids, index, coverage_matrix(taxonomy, capability_ids), labels,
                   sp.csr_array(similar), line)

    def transposed_float64(self, name: str) -> sp.csr_array:
        """``coverage_of`` or ``similar`` transposed, in float64 (sorted indices): the operand a
        sparse product ``rows @ matrix.T`` reads, kept for computing one member's row."""
        cache = self.__dict__.setdefault("_transposed64", {})
        if name not in cache:
            out = sp.csr_array(getattr(self, name).T, dtype=np.float64)
            out.sort_indices()
            cache[name] = out
        return cache[name]


def _vectoriser(analyzer: str, ngram_range: tuple[int, int], stop_words: Any = None
                ) -> HashingVectorizer:
    """One stateless vectoriser per configuration: building one checks its stop words, which
    costs more than hashing a member's text."""
    key = (analyzer, ngram_range, None if stop_words is None else tuple(sorted(stop_words)))
    if key not in _VECTORISERS:
        _VECTORISERS[key] = HashingVectorizer(
            strip_accents="unicode", alternate_sign=False, norm=None, n_features=HASH_FEATURES,
            dtype=np.float64, analyzer=analyzer, ngram_range=ngram_range, stop_words=stop_words)
    return _VECTORISERS[key]


_VECTORISERS: dict[tuple[Any, ...], HashingVectorizer] = {}


def _hashed(texts: Sequence[str], **options: Any) -> sp.csr_array:
    """Sublinear term frequencies of hashed terms, unit length per text: a text's vector
    depends on that text alone (no vocabulary or IDF learned from the others)."""
    if not texts:  # scikit-learn cannot transform an empty list (an empty network)
        return sp.csr_array((0, HASH_FEATURES), dtype=np.float64)
    counts = sp.csr_array(_vectoriser(**options).transform(list(texts)))
    counts.data = 1.0 + np.log(counts.data)
    return sp.csr_array(normalize(counts))


def words(texts: Sequence[str], rows: dict[str, sp.csr_array] | None = None) -> sp.csr_array:
    """Hashed words and word pairs of each text, stop words left out.

    A live update hashes one member's texts, which have usually not changed (a level edited, a
    need's urgency): ``rows`` may give the rows of texts already hashed (the member's own, from
    the arrays), and the rows of recently seen texts are kept, so a few texts cost no hashing.
    """
    if not texts or len(texts) > _FEW_TEXTS:
        return _hashed(texts, analyzer="word", ngram_range=(1, 2), stop_words=STOP_WORDS)
    distinct = list(dict.fromkeys(texts))
    with _WORD_ROWS_LOCK:
        known = {t: _WORD_ROWS[t] for t in distinct if t in _WORD_ROWS}
        for text in known:
            _WORD_ROWS.move_to_end(text)
    known.update((t, rows[t]) for t in distinct if t not in known and rows and t in rows)
    missing = [t for t in distinct if t not in known]
    if missing:
        with sklearn.config_context(skip_parameter_validation=True):
            hashed = _hashed(missing, analyzer="word", ngram_range=(1, 2),
                             stop_words=STOP_WORDS)
        known.update((text, hashed[[k]]) for k, text in enumerate(missing))
        with _WORD_ROWS_LOCK:
            _WORD_ROWS.update((text, known[text]) for text in missing)
            while len(_WORD_ROWS) > _WORD_ROWS_KEPT:
                _WORD_ROWS.popitem(last=False)
    return sp.csr_array(sp.vstack([known[t] for t in texts], format="csr"))


_FEW_TEXTS = 16  # up to this many texts go through the kept rows
_WORD_ROWS_KEPT = 4096
_WORD_ROWS: OrderedDict[str, sp.csr_array] = OrderedDict()
_WORD_ROWS_LOCK = threading.Lock()


def core_offers(levels: sp.csr_array, flags: sp.csr_array) -> sp.csr_array:
    """What each member offers as its business: the capabilities it marks ``core`` (among those
    it offers), else its top offers, the capabilities at its highest level when that level is at
    least ``CORE_LEVEL``. ``levels`` are 1-5."""
    rows, cols = [], []
    for i, (row, flagged) in enumerate(zip(rows_of(levels), rows_of(flags))):
        chosen = [c for c in flagged if row.get(c, 0) > 0]
        if not chosen and row:
            top = max(row.values())
            chosen = [c for c, level in row.items() if level == top] if top >= CORE_LEVEL else []
        rows += [i] * len(chosen)
        cols += chosen
    return _csr(rows, cols, np.ones(len(rows)), levels.shape)


TEXT_ARRAYS = ("description", "want_words", "public_want_words")  # hashed texts, per member


def member_texts(parts: TaxonomyParts, urgencies: sp.csr_array, severities: sp.csr_array,
                 descriptions: Sequence[str]) -> dict[str, list[str]]:
    """The texts behind ``TEXT_ARRAYS``: the description, and the labels of what a member
    wants (needs and weaknesses; needs only for the public form)."""
    def wants(matrix: sp.csr_array) -> list[str]:
        return [" ".join(parts.labels[j] for j in row) for row in rows_of(matrix)]

    return {"description": list(descriptions),
            "want_words": wants(sp.csr_array(urgencies + severities)),
            "public_want_words": wants(urgencies)}


def member_rows(parts: TaxonomyParts, levels: sp.csr_array, urgencies: sp.csr_array,
                severities: sp.csr_array, core_flags: sp.csr_array,
                descriptions: Sequence[str], weakness_weight: float,
                hashed: dict[str, sp.csr_array] | None = None,
                texts: dict[str, list[str]] | None = None) -> dict[str, sp.csr_array]:
    """The ``ROW_ARRAYS`` of a block of members from their raw rows (levels 1-5 etc.).

    ``demand`` is the larger of urgency/5 and ``weakness_weight`` * severity/5 per capability,
    rows normalised to sum 1; the public forms read needs only, normalised by their own totals.
    ``coverage_t[b, d]`` is :math:`\\min(1, \\sum_c L_{bc} S_{dc})` with L = level/5;
    ``label_text_t`` the same through label similarity instead of S. ``core`` holds the core
    offers (``core_offers``), ``zone`` their line of business (the core capabilities, what is
    above and what is below them); the ``zoned_`` forms are demand and coverage inside it, so
    that what two rivals may not do for each other (a capability in both zones) is one product.
    ``hashed`` may give the rows of texts already hashed (``words``), ``texts`` the members'
    ``member_texts`` when the caller has them.
    """
    scaled = sp.csr_array(levels / 5.0)
    coverage_t = sp.csr_array(scaled @ parts.coverage_of.T)
    coverage_t.data = np.minimum(coverage_t.data, 1.0)
    need = sp.csr_array(urgencies / 5.0)
    weak = sp.csr_array(severities / 5.0 * weakness_weight)
    demand = sp.csr_array(need.maximum(weak))
    core = core_offers(levels, core_flags)
    zone = sp.csr_array((core @ parts.line) > 0, dtype=np.float32)
    label_text_t = sp.csr_array(scaled @ parts.similar.T)
    label_text_t.data = np.minimum(label_text_t.data, 1.0)

    if texts is None:
        texts = member_texts(parts, urgencies, severities, descriptions)
    demand = _row_normalised(demand)
    public = _row_normalised(need)
    out = {
        "levels": scaled, "coverage_t": coverage_t,
        "demand": demand, "zoned_demand": sp.csr_array(demand.multiply(zone)),
        "public_demand": public, "public_zoned_demand": sp.csr_array(public.multiply(zone)),
        "core": core, "zone": zone,
        "zoned_coverage_t": sp.csr_array(coverage_t.multiply(zone)),
        "label_text_t": label_text_t,
        **{name: words(texts[name], hashed) for name in TEXT_ARRAYS},
    }
    for matrix in out.values():
        matrix.sort_indices()
    return out


# -- one member at a time ------------------------------------------------------------------------
# A live edit changes one member's rows. ``member_rows`` builds some forty scipy arrays for them,
# each costing about 0.1 ms of checks and conversions whatever its size; ``few_member_rows``
# computes the same rows with numpy on the member's few entries, in the order scipy's kernels
# add them, so every value is the same to the last bit (tests/test_member_rows_few.py).
FEW_ROWS = 16  # up to this many changed rows are computed one by one


def _row(matrix: sp.csr_array, i: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
    return matrix.indices[lo:hi], matrix.data[lo:hi]


def _through(parts: TaxonomyParts, name: str, cols: np.ndarray, values: np.ndarray
             ) -> np.ndarray:
    """``values`` at ``cols`` times ``parts.<name>``.T as a dense row: each product added in
    column order, as the sparse product adds them (a float64 accumulator per output)."""
    right = parts.transposed_float64(name)
    out = np.zeros(right.shape[1])
    for j, v in zip(cols.tolist(), values.tolist()):
        lo, hi = right.indptr[j], right.indptr[j + 1]
        out[right.indices[lo:hi]] += v * right.data[lo:hi]
    return out


def _sparse(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols = np.flatnonzero(dense)
    return cols, dense[cols]


def _normalised(cols: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_row_normalised`` of one row: the total summed as scipy's row sum does."""
    if not len(values):
        return cols, values
    total = np.add.reduceat(values, np.zeros(1, dtype=np.intp))
    scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)[0]
    out = scale * values
    keep = out != 0
    return cols[keep], out[keep]


def _masked(cols: np.ndarray, values: np.ndarray, zone: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """An elementwise product with the 0/1 ``zone`` indicator (zeros dropped)."""
    keep = np.fromiter((c in zone for c in cols.tolist()), dtype=bool, count=len(cols))
    keep &= values != 0
    return cols[keep], values[keep] * 1.0


def _merged_max(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], m: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The elementwise maximum of two sparse rows (absent = 0), zeros dropped."""
    dense_a, dense_b = np.zeros(m), np.zeros(m)
    dense_a[a[0]] = a[1]
    dense_b[b[0]] = b[1]
    return _sparse(np.maximum(dense_a, dense_b))


def word_row(text: str, known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """``words([text])`` as (columns ascending, values), from ``known`` rows when given."""
    if known and text in known:
        return known[text]
    with _WORD_ROWS_LOCK:
        row = _WORD_ROWS.get(text)
        if row is not None:
            _WORD_ROWS.move_to_end(text)
    if row is None:
        with sklearn.config_context(skip_parameter_validation=True):
            row = _hashed([text], analyzer="word", ngram_range=(1, 2), stop_words=STOP_WORDS)
        with _WORD_ROWS_LOCK:
            _WORD_ROWS[text] = row
            while len(_WORD_ROWS) > _WORD_ROWS_KEPT:
                _WORD_ROWS.popitem(last=False)
    cols, values = row.indices, row.data
    order = np.argsort(cols, kind="stable")
    return cols[order], values[order]


def few_member_rows(parts: TaxonomyParts, levels: sp.csr_array, urgencies: sp.csr_array,
                    severities: sp.csr_array, core_flags: sp.csr_array, rows: Sequence[int],
                    descriptions: Sequence[str], weakness_weight: float,
                    known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
                    ) -> tuple[dict[str, Rows], dict[str, list[str]]]:
    """``member_rows`` and ``member_texts`` of the members at ``rows`` of the projection's
    arrays, row by row (see ``FEW_ROWS``); ``known`` gives the rows of texts already hashed."""
    m = len(parts.capability_ids)
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in ROW_ARRAYS}
    texts: dict[str, list[str]] = {name: [] for name in TEXT_ARRAYS}
    texts["description"] = list(descriptions)
    for i in rows:
        level_cols, level_values = _row(levels, i)
        scaled = level_values.astype(np.float64) * (1 / 5.0)
        coverage = _through(parts, "coverage_of", level_cols, scaled)
        coverage_cols, coverage_values = _sparse(coverage)
        coverage_values = np.minimum(coverage_values, 1.0)
        labels = _through(parts, "similar", level_cols, scaled)
        label_cols, label_values = _sparse(labels)
        label_values = np.minimum(label_values, 1.0)

        need_cols, need_values = _row(urgencies, i)
        weak_cols, weak_values = _row(severities, i)
        need = need_values.astype(np.float64) * (1 / 5.0)
        weak = weak_values.astype(np.float64) * (1 / 5.0) * weakness_weight
        demand = _normalised(*_merged_max((need_cols, need), (weak_cols, weak), m))
        public = _normalised(*_sparse(_dense(need_cols, need, m)))

        row = dict(zip(level_cols.tolist(), level_values.tolist()))
        flagged = _row(core_flags, i)[0].tolist()
        chosen = [c for c in flagged if row.get(c, 0) > 0]
        if not chosen and row:
            top = max(row.values())
            chosen = [c for c, level in row.items() if level == top] if top >= CORE_LEVEL else []
        core = np.asarray(sorted(set(chosen)), dtype=np.int64)
        zone_set: set[int] = set()
        for j in core.tolist():
            zone_set.update(_row(parts.line, j)[0].tolist())
        zone = np.asarray(sorted(zone_set), dtype=np.int64)

        out["levels"].append((level_cols, scaled))
        out["coverage_t"].append((coverage_cols, coverage_values))
        out["demand"].append(demand)
        out["zoned_demand"].append(_masked(*demand, zone_set))
        out["public_demand"].append(public)
        out["public_zoned_demand"].append(_masked(*public, zone_set))
        out["core"].append((core, np.ones(len(core), np.float32)))
        out["zone"].append((zone, np.ones(len(zone), np.float32)))
        out["zoned_coverage_t"].append(_masked(coverage_cols, coverage_values, zone_set))
        out["label_text_t"].append((label_cols, label_values))

        wanted = _dense(need_cols, need_values, m, np.float32)
        wanted[weak_cols] += weak_values
        texts["want_words"].append(" ".join(parts.labels[j] for j in np.flatnonzero(wanted)))
        texts["public_want_words"].append(" ".join(parts.labels[j] for j in
                                                   np.sort(need_cols).tolist()))
    for name in TEXT_ARRAYS:
        out[name] = [word_row(t, known) for t in texts[name]]
    dtypes = {"core": np.float32, "zone": np.float32}
    result = {name: Rows.stacked(pairs, HASH_FEATURES if name in TEXT_ARRAYS else m,
                                 dtypes.get(name, np.float64),
                                 np.int32 if name in TEXT_ARRAYS else np.int64)
              for name, pairs in out.items()}
    return result, texts


def _dense(cols: np.ndarray, values: np.ndarray, m: int, dtype: type = np.float64) -> np.ndarray:
    out = np.zeros(m, dtype=dtype)
    out[cols] = values
    return out
