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
