"""Replacing a few rows of a sparse matrix without rebuilding it from Python objects.

The live engine applies one member's change to member x capability arrays of a fitted network:
the member's row is computed on its own (every such row depends on that member's data only) and
spliced into the matrix with a handful of array copies, O(non-zeros) in C, no per-row Python.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def replace_rows(matrix: sp.csr_array, rows: np.ndarray | list[int], new: sp.csr_array
                 ) -> sp.csr_array:
    """``matrix`` with row ``rows[k]`` replaced by row ``k`` of ``new``.

    Rows past the end are appended (rows between stay empty); ``rows`` need not be sorted but
    must be distinct. The result has sorted indices, as a freshly built CSR array has.

    >>> m = sp.csr_array(np.array([[1.0, 0], [0, 2]]))
    >>> replace_rows(m, [1, 2], sp.csr_array(np.array([[3.0, 0], [0, 4]]))).toarray().tolist()
    [[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    """
    matrix = sp.csr_array(matrix)
    new = sp.csr_array(new)
    new.sort_indices()
    rows = np.asarray(rows, dtype=np.int64)
    same = _same_pattern_rows(matrix, rows, new)
    if same is not None:  # only values changed: the structure is shared, the values copied once
        data = matrix.data.copy()
        for (lo, hi), k in zip(same, range(len(rows))):
            data[lo:hi] = new.data[new.indptr[k]:new.indptr[k + 1]]
        out = sp.csr_array((data, matrix.indices, matrix.indptr), shape=matrix.shape)
        out.has_sorted_indices = True
        return out
    order = np.argsort(rows, kind="stable")
    n_old, n_cols = matrix.shape
    n = max(n_old, int(rows.max()) + 1) if rows.size else n_old
    indptr = np.concatenate([matrix.indptr, np.full(n - n_old, matrix.indptr[-1])])
    lengths = np.diff(indptr)
    pieces_idx, pieces_val = [], []
    start = 0
    for k in order.tolist():
        r = int(rows[k])
        pieces_idx.append(matrix.indices[indptr[start]:indptr[r]])
        pieces_val.append(matrix.data[indptr[start]:indptr[r]])
        lo, hi = new.indptr[k], new.indptr[k + 1]
        pieces_idx.append(new.indices[lo:hi])
        pieces_val.append(new.data[lo:hi].astype(matrix.dtype, copy=False))
        lengths[r] = hi - lo
        start = r + 1
    pieces_idx.append(matrix.indices[indptr[start]:indptr[n]])
    pieces_val.append(matrix.data[indptr[start]:indptr[n]])
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_indptr[1:])
    out = sp.csr_array((np.concatenate(pieces_val), np.concatenate(pieces_idx), out_indptr),
                       shape=(n, n_cols))
    out.has_sorted_indices = True
    return out


def set_rows(matrix: sp.csr_array, rows: np.ndarray | list[int], new: sp.csr_array) -> bool:
    """Write row ``k`` of ``new`` (sorted indices) over row ``rows[k]`` of ``matrix``, in place,
    when each row keeps its columns (a level or an urgency edited); False, with nothing written,
    otherwise. Work in proportion to the rows written: the rest of the array is not touched.

    >>> m = sp.csr_array(np.array([[1.0, 0], [0, 2]]))
    >>> set_rows(m, [1], sp.csr_array(np.array([[0, 5.0]]))), m.toarray().tolist()
    (True, [[1.0, 0.0], [0.0, 5.0]])
    """
    rows = np.asarray(rows, dtype=np.int64)
    spans = _same_pattern_rows(matrix, rows, new)
    if spans is None:
        return False
    for k, (lo, hi) in enumerate(spans):
        matrix.data[lo:hi] = new.data[new.indptr[k]:new.indptr[k + 1]]
    return True


def set_columns(matrix_t: sp.csr_array, cols: np.ndarray | list[int], old: sp.csr_array,
                new: sp.csr_array) -> bool:
    """The transpose kept current in place: write row ``k`` of ``new`` over column ``cols[k]``
    of ``matrix_t`` (the transpose of the member x feature array ``old``), when each of those
    rows of ``old`` has the columns of its row of ``new``; False, with nothing written,
    otherwise. A binary search per entry written.

    >>> old = sp.csr_array(np.array([[1.0, 0], [0, 2]]))
    >>> t = transposed(old)
    >>> set_columns(t, [1], old, sp.csr_array(np.array([[0, 5.0]]))), t.toarray().tolist()
    (True, [[1.0, 0.0], [0.0, 5.0]])
    """
    cols = np.asarray(cols, dtype=np.int64)
    if (cols >= matrix_t.shape[1]).any() or _same_pattern_rows(old, cols, new) is None:
        return False
    indptr, indices, data = matrix_t.indptr, matrix_t.indices, matrix_t.data
    for k, member in enumerate(cols.tolist()):
        lo, hi = new.indptr[k], new.indptr[k + 1]
        for feature, value in zip(new.indices[lo:hi].tolist(), new.data[lo:hi].tolist()):
            start, end = indptr[feature], indptr[feature + 1]
            data[start + np.searchsorted(indices[start:end], member)] = value
    return True


def _same_pattern_rows(matrix: sp.csr_array, rows: np.ndarray, new: sp.csr_array
                       ) -> list[tuple[int, int]] | None:
    """Where rows ``rows`` of ``matrix`` sit, if each already has the same columns as its row
    of ``new`` (a level or an urgency edited, nothing added or removed); None otherwise."""
    n = matrix.shape[0]
    spans = []
    for k, r in enumerate(rows.tolist()):
        if r >= n:
            return None
        lo, hi = int(matrix.indptr[r]), int(matrix.indptr[r + 1])
        if not np.array_equal(matrix.indices[lo:hi], new.indices[new.indptr[k]:new.indptr[k + 1]]):
            return None
        spans.append((lo, hi))
    return spans


def transposed(matrix: sp.csr_array) -> sp.csr_array:
    """The transpose as a CSR array with sorted indices (what sparse products read fastest)."""
    out = sp.csr_array(matrix.T)
    out.sort_indices()
    return out


def grown(matrix: sp.csr_array, n_rows: int) -> sp.csr_array:
    """``matrix`` with empty rows appended up to ``n_rows``."""
    if matrix.shape[0] >= n_rows:
        return matrix
    indptr = np.concatenate([matrix.indptr, np.full(n_rows - matrix.shape[0], matrix.indptr[-1])])
    return sp.csr_array((matrix.data, matrix.indices, indptr), shape=(n_rows, matrix.shape[1]))


def replace_columns(matrix_t: sp.csr_array, cols: np.ndarray | list[int], old: sp.csr_array,
                    new: sp.csr_array, n_cols: int) -> sp.csr_array:
    """The transpose kept current: ``matrix_t`` (the transpose of a member x feature array
    ``old``) with column ``cols[k]`` replaced by row ``k`` of ``new`` and widened to ``n_cols``
    columns.

    Equal, array for array, to ``transposed`` of the row form after ``replace_rows``, so what is
    computed from either is the same to the last bit. The entries to drop are found from the old
    rows of ``cols`` (a few binary searches), and the arrays are copied once, in slices.

    >>> old = sp.csr_array(np.array([[1.0, 0], [0, 2]]))
    >>> new = sp.csr_array(np.array([[3.0, 0], [0, 4]]))
    >>> replace_columns(transposed(old), [1, 2], old, new, 3).toarray().tolist()
    [[1.0, 3.0, 0.0], [0.0, 0.0, 4.0]]
    """
    new = sp.csr_array(new)
    new.sort_indices()
    n_rows = matrix_t.shape[0]
    indptr, indices, data = matrix_t.indptr, matrix_t.indices, matrix_t.data

    def place(feature: int, member: int) -> int:
        lo, hi = indptr[feature], indptr[feature + 1]
        return int(lo + np.searchsorted(indices[lo:hi], member))

    cols = np.asarray(cols, dtype=np.int64)
    if n_cols == matrix_t.shape[1] and _same_pattern_rows(old, cols, new) is not None:
        # Only values changed: the structure is shared, the values copied once and set in place.
        values = data.copy()
        for k, member in enumerate(cols.tolist()):
            lo, hi = new.indptr[k], new.indptr[k + 1]
            for feature, value in zip(new.indices[lo:hi].tolist(), new.data[lo:hi].tolist()):
                values[place(feature, member)] = value
        out = sp.csr_array((values, indices, indptr), shape=matrix_t.shape)
        out.has_sorted_indices = True
        return out
    events = []  # (position in the old arrays, feature, 0 insert / 1 drop, member, value)
    counts = np.zeros(n_rows, dtype=np.int64)
    for k, member in enumerate(cols.tolist()):
        if member < old.shape[0]:
            for feature in old.indices[old.indptr[member]:old.indptr[member + 1]].tolist():
                events.append((place(feature, member), feature, 1, member, 0.0))
                counts[feature] -= 1
        lo, hi = new.indptr[k], new.indptr[k + 1]
        for feature, value in zip(new.indices[lo:hi].tolist(), new.data[lo:hi].tolist()):
            events.append((place(feature, member), feature, 0, member, value))
            counts[feature] += 1
    # At one position: an empty row's inserts before the next row's, and within a row the
    # inserts (by member) before the drop of the old entry that sits there.
    events.sort()
    pieces_idx, pieces_val, cursor = [], [], 0
    for at, _, drop, member, value in events:
        pieces_idx.append(indices[cursor:at])
        pieces_val.append(data[cursor:at])
        if drop:
            cursor = at + 1
        else:
            cursor = at
            pieces_idx.append(np.array([member], dtype=indices.dtype))
            pieces_val.append(np.array([value], dtype=data.dtype))
    pieces_idx.append(indices[cursor:])
    pieces_val.append(data[cursor:])
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.diff(indptr) + counts, out=out_indptr[1:])
    out = sp.csr_array((np.concatenate(pieces_val), np.concatenate(pieces_idx), out_indptr),
                       shape=(n_rows, n_cols))
    out.has_sorted_indices = True
    return out


def gathered(matrix_t: sp.csr_array, which: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights @ matrix_t[which]``: the weighted sum of a few rows, as a dense float64 row.

    A member's benefit from everyone is its few wanted capabilities' rows of the capability x
    member coverage summed: work in proportion to the entries read, where a product with the
    member x capability form reads the whole network."""
    n = matrix_t.shape[1]
    indptr = matrix_t.indptr
    which = np.asarray(which, dtype=np.int64)
    starts = indptr[which].astype(np.int64)
    lengths = indptr[which + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(n)
    first = np.cumsum(lengths) - lengths  # where each row's entries start in the gathered run
    positions = np.arange(total) + np.repeat(starts - first, lengths)
    values = matrix_t.data[positions] * np.repeat(np.asarray(weights, np.float64), lengths)
    return np.bincount(matrix_t.indices[positions], weights=values, minlength=n)
