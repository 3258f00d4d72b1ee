"""Replacing a few rows of a sparse matrix without rebuilding it from Python objects.

The live engine applies one member's change to member x capability arrays of a fitted network:
the member's row is computed on its own (every such row depends on that member's data only) and
spliced into the matrix with a handful of array copies, O(non-zeros) in C, no per-row Python.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Rows:
    """A few rows of a CSR array as its three arrays (sorted indices, no explicit checks): what
    one member's change computes and splices in. Building a ``scipy.sparse`` array costs about
    0.1 ms of checks, more than computing a member's row, and an edit used to build a hundred.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def stacked(cls, rows: list[tuple[np.ndarray, np.ndarray]], width: int,
                dtype: np.dtype | type, index_dtype: np.dtype | type = np.int64) -> Rows:
        """Rows from ``(indices, values)`` pairs, one per row, indices ascending."""
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(i) for i, _ in rows], out=indptr[1:])
        if len(rows) == 1:
            indices, data = rows[0]
        else:
            indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0)
            data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
        return cls(np.asarray(data, dtype=dtype), np.asarray(indices, dtype=index_dtype),
                   indptr, (len(rows), width))

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def csr(self) -> sp.csr_array:
        out = sp.csr_array((self.data, self.indices, self.indptr), shape=self.shape)
        out.has_sorted_indices = True
        return out


def same_entries(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal`` for two slices of entries, by their bytes when of one type: an edit
    compares a few dozen short rows (0.2 against 3 us each). Equal bytes are equal values, and
    a value that differs only in its bits (-0.0 and 0.0) counts as changed: written again."""
    if a.dtype == b.dtype:
        return a.shape == b.shape and a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def _sorted_csr(new: sp.csr_array | Rows) -> sp.csr_array | Rows:
    """``new`` as something with sorted CSR arrays (``Rows`` already are)."""
    if isinstance(new, Rows):
        return new
    new = sp.csr_array(new)
    new.sort_indices()
    return new


def replace_rows(matrix: sp.csr_array, rows: np.ndarray | list[int], new: sp.csr_array
                 ) -> sp.csr_array:
    """``matrix`` with row ``rows[k]`` replaced by row ``k`` of ``new``.

    Rows past the end are appended (rows between stay empty); ``rows`` need not be sorted but
    must be distinct. The result has sorted indices, as a freshly built CSR array has.

    >>> m = sp.csr_array(np.array([[1.0, 0], [0, 2]]))
    >>> replace_rows(m, [1, 2], sp.csr_array(np.array([[3.0, 0], [0, 4]]))).toarray().tolist()
    [[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    """
    if not isinstance(matrix, sp.csr_array):
        matrix = sp.csr_array(matrix)
    new = _sorted_csr(new)
    rows = np.asarray(rows, dtype=np.int64)
    same = _same_pattern_rows(matrix, rows, new)
    if same is not None:  # only values changed: the structure is shared, the values copied once
        data = matrix.data.copy()
        for (lo, hi), k in zip(same, range(len(rows))):
            data[lo:hi] = new.data[new.indptr[k]:new.indptr[k + 1]]
        return with_values(matrix, data)
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
        pieces_idx.append(new.indices[lo:hi].astype(matrix.indices.dtype, copy=False))
        pieces_val.append(new.data[lo:hi].astype(matrix.dtype, copy=False))
        lengths[r] = hi - lo
        start = r + 1
    pieces_idx.append(matrix.indices[indptr[start]:indptr[n]])
    pieces_val.append(matrix.data[indptr[start]:indptr[n]])
    return _assembled(matrix, np.concatenate(pieces_val), np.concatenate(pieces_idx),
                      _pointers(lengths, matrix.indptr.dtype), (n, n_cols))


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
    for k, member in enumerate(cols.tolist()):
        lo, hi = new.indptr[k], new.indptr[k + 1]
        matrix_t.data[positions(matrix_t, new.indices[lo:hi], member)] = new.data[lo:hi]
    return True


def positions(matrix_t: sp.csr_array, rows: np.ndarray, column: int) -> np.ndarray:
    """Where column ``column`` sits in each of the rows ``rows`` (sorted indices) of
    ``matrix_t``, or would be inserted: one binary search per row, run side by side (a dozen
    numpy steps for any number of rows, where a search per row costs a call each)."""
    indptr, indices = matrix_t.indptr, matrix_t.indices
    if len(rows) <= 48:  # a call per row costs less than a dozen steps on arrays
        return np.array([start + indices[start:end].searchsorted(column)
                         for start, end in zip(indptr[rows].tolist(),
                                               indptr[np.asarray(rows) + 1].tolist())],
                        dtype=np.int64)
    position = indptr[rows].astype(np.int64)
    length = indptr[np.asarray(rows) + 1].astype(np.int64) - position
    last = max(len(indices) - 1, 0)
    while length.any():
        half = length // 2
        middle = position + half
        below = (indices[np.minimum(middle, last)] < column) & (length > 0)
        position = np.where(below, middle + 1, position)
        length = np.where(below, length - half - 1, half)
    return position


def with_values(matrix: sp.csr_array, data: np.ndarray) -> sp.csr_array:
    """``matrix`` with ``data`` (same length and type) for its values, sharing its structure.
    A shallow copy with the values set: scipy's constructor would check the structure again
    (about 0.1 ms), which did not change."""
    out = copy.copy(matrix)
    out.data = data
    out.has_sorted_indices = True
    return out


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
        if not same_entries(matrix.indices[lo:hi], new.indices[new.indptr[k]:new.indptr[k + 1]]):
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
    new = _sorted_csr(new)
    n_rows = matrix_t.shape[0]
    indptr, indices, data = matrix_t.indptr, matrix_t.indices, matrix_t.data

    cols = np.asarray(cols, dtype=np.int64)
    if n_cols == matrix_t.shape[1] and _same_pattern_rows(old, cols, new) is not None:
        # Only values changed: the structure is shared, the values copied once and set in place.
        values = data.copy()
        for k, member in enumerate(cols.tolist()):
            lo, hi = new.indptr[k], new.indptr[k + 1]
            values[positions(matrix_t, new.indices[lo:hi], member)] = new.data[lo:hi]
        return with_values(matrix_t, values)
    events, counts = _column_events(matrix_t, cols, old, new)
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
    return _assembled(matrix_t, np.concatenate(pieces_val), np.concatenate(pieces_idx),
                      _pointers(np.diff(indptr) + counts, indptr.dtype), (n_rows, n_cols))


def _pointers(lengths: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Row pointers for rows of ``lengths``, in ``dtype`` (the array's own) when they fit."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    if out[-1] <= np.iinfo(dtype).max:
        out = out.astype(dtype, copy=False)
    return out


def _assembled(like: sp.csr_array, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
               shape: tuple[int, int]) -> sp.csr_array:
    """The CSR array of these parts (sorted indices, no duplicates). When they have the types
    and shape of ``like``, a shallow copy of it with the parts set: scipy's constructor checks
    and converts them again (about 0.1 ms, more than an edit's splice)."""
    if shape == like.shape and data.dtype == like.data.dtype and \
            indices.dtype == like.indices.dtype and indptr.dtype == like.indptr.dtype:
        out = copy.copy(like)
        out.data, out.indices, out.indptr = data, indices, indptr
    else:
        out = sp.csr_array((data, indices, indptr), shape=shape)
    out.has_sorted_indices = True
    return out


def gathered(matrix_t: sp.csr_array, which: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights @ matrix_t[which]``: the weighted sum of a few rows, as a dense float64 row.

    A member's benefit from everyone is its few wanted capabilities' rows of the capability x
    member coverage summed: work in proportion to the entries read, where a product with the
    member x capability form reads the whole network."""
    n = matrix_t.shape[1]
    indices, data = matrix_t.indices, matrix_t.data
    starts, lengths = _spans(matrix_t, which)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(n)
    weights = np.repeat(np.asarray(weights, np.float64), lengths)
    if total >= LONG_ROWS * len(starts):
        # A few long rows: their slices copied end to end (the same entries in the same order
        # as by position), without building a position per entry.
        spans = list(zip(starts.tolist(), (starts + lengths).tolist()))
        columns = np.concatenate([indices[lo:hi] for lo, hi in spans])
        values = np.concatenate([data[lo:hi] for lo, hi in spans]) * weights
        return np.bincount(columns, weights=values, minlength=n)
    positions = _positions(starts, lengths, total)
    return np.bincount(indices[positions], weights=data[positions] * weights, minlength=n)


def _spans(matrix: sp.csr_array, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where rows ``which`` of ``matrix`` start among its entries, and how many each has."""
    which = np.asarray(which, dtype=np.int64)
    starts = matrix.indptr[which].astype(np.int64)
    return starts, matrix.indptr[which + 1] - starts


def _positions(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """The positions of the entries of the rows spanned, row after row."""
    first = np.cumsum(lengths) - lengths  # where each row's entries start in the gathered run
    positions = np.repeat(starts - first, lengths)
    positions += np.arange(total)
    return positions


LONG_ROWS = 128  # entries a row, on average, from which slicing rows beats indexing entries


# -- splicing in place ---------------------------------------------------------------------------
# An edit that changes a row's columns moves every entry after it. Copying a large network's
# array to a new one costs far more than the move itself: fresh memory is faulted in page by
# page (a 100 MB copy took over a second on the loaded test machine, against 60 ms into memory
# already touched). So a large array keeps its entries in buffers with some room at the end
# (``Room``), and an edit moves the entries within them.
ROOM_SHARE = 256  # room kept: a 256th of the entries, at least ROOM_MIN
ROOM_MIN = 4096
LARGE = 65536  # arrays with fewer entries are copied: the copy costs nothing


@dataclass(frozen=True)
class Room:
    """The buffers behind a CSR array's ``data`` and ``indices``, longer than its entries."""

    data: np.ndarray
    indices: np.ndarray

    @classmethod
    def around(cls, matrix: sp.csr_array) -> tuple[sp.csr_array, Room]:
        """``matrix`` copied into new buffers with room, and the room."""
        nnz = int(matrix.indptr[-1])
        capacity = nnz + max(ROOM_MIN, nnz // ROOM_SHARE)
        room = cls(np.empty(capacity, matrix.data.dtype), np.empty(capacity, matrix.indices.dtype))
        room.data[:nnz] = matrix.data[:nnz]
        room.indices[:nnz] = matrix.indices[:nnz]
        return room.holding(matrix, nnz, matrix.indptr.copy()), room

    def holds(self, matrix: sp.csr_array) -> bool:
        return matrix.data.base is self.data and matrix.indices.base is self.indices

    def holding(self, like: sp.csr_array, nnz: int, indptr: np.ndarray) -> sp.csr_array:
        out = copy.copy(like)
        out.data, out.indices, out.indptr = self.data[:nnz], self.indices[:nnz], indptr
        out.has_sorted_indices = True
        return out


def replace_rows_in_place(matrix: sp.csr_array, room: Room, rows: np.ndarray | list[int],
                          new: sp.csr_array | Rows) -> sp.csr_array | None:
    """``replace_rows`` written into ``room`` (which must hold ``matrix``; its row pointers are
    updated in place too): the same arrays, for a move of the entries after the rows instead
    of a copy of everything. None, with nothing written, when a row is past the end or the
    room is short."""
    rows = np.asarray(rows, dtype=np.int64)
    new = _sorted_csr(new)
    if not room.holds(matrix) or (rows >= matrix.shape[0]).any():
        return None
    indptr = matrix.indptr
    events, counts = [], np.zeros(matrix.shape[0], dtype=np.int64)
    for k in np.argsort(rows, kind="stable").tolist():
        r = int(rows[k])
        lo, hi = int(indptr[r]), int(indptr[r + 1])
        events += [(at, r, 1, 0, 0.0) for at in range(lo, hi)]
        new_lo, new_hi = new.indptr[k], new.indptr[k + 1]
        events += [(hi, r, 0, column, value) for column, value in
                   zip(new.indices[new_lo:new_hi].tolist(), new.data[new_lo:new_hi].tolist())]
        counts[r] += (new_hi - new_lo) - (hi - lo)
    events.sort()
    return _moved(matrix, room, events, counts)


def replace_columns_in_place(matrix_t: sp.csr_array, room: Room, cols: np.ndarray | list[int],
                             old: sp.csr_array, new: sp.csr_array | Rows, n_cols: int
                             ) -> sp.csr_array | None:
    """``replace_columns`` written into ``room`` (see ``replace_rows_in_place``); None when the
    width changes or the room is short."""
    if not room.holds(matrix_t) or n_cols != matrix_t.shape[1]:
        return None
    new = _sorted_csr(new)
    cols = np.asarray(cols, dtype=np.int64)
    events, counts = _column_events(matrix_t, cols, old, new)
    events.sort()
    return _moved(matrix_t, room, events, counts)


def _column_events(matrix_t: sp.csr_array, cols: np.ndarray, old: sp.csr_array,
                   new: sp.csr_array | Rows) -> tuple[list[tuple], np.ndarray]:
    """The entries ``replace_columns`` drops and inserts: (position in the old arrays, row,
    1 drop / 0 insert, column, value), and the change of each row's length."""
    events = []
    counts = np.zeros(matrix_t.shape[0], dtype=np.int64)
    for k, member in enumerate(cols.tolist()):
        if member < old.shape[0]:
            features = old.indices[old.indptr[member]:old.indptr[member + 1]]
            for at, feature in zip(positions(matrix_t, features, member).tolist(),
                                   features.tolist()):
                events.append((at, feature, 1, member, 0.0))
                counts[feature] -= 1
        lo, hi = new.indptr[k], new.indptr[k + 1]
        features = new.indices[lo:hi]
        for at, feature, value in zip(positions(matrix_t, features, member).tolist(),
                                      features.tolist(), new.data[lo:hi].tolist()):
            events.append((at, feature, 0, member, value))
            counts[feature] += 1
    return events, counts


def _moved(matrix: sp.csr_array, room: Room, events: list[tuple], counts: np.ndarray
           ) -> sp.csr_array | None:
    """Apply sorted drop and insert ``events`` to ``matrix``'s entries inside ``room``.

    The runs of entries between events keep their order and move by the inserts less the drops
    before them. Runs moving right are moved last first and runs moving left first first, so
    none is overwritten before it moved (destinations keep the order of the runs); then the
    inserted entries are written into the gaps."""
    nnz = int(matrix.indptr[-1])
    runs, inserts, cursor, shift = [], [], 0, 0
    for at, _, drop, column, value in events:
        if at > cursor:
            runs.append((cursor, at, shift))
        if drop:
            cursor, shift = at + 1, shift - 1
        else:
            inserts.append((at + shift, column, value))
            cursor, shift = at, shift + 1
    if nnz > cursor:
        runs.append((cursor, nnz, shift))
    if nnz + shift > len(room.data):
        return None
    data, indices = room.data, room.indices
    for lo, hi, by in reversed(runs):
        if by > 0:
            data[lo + by:hi + by] = data[lo:hi]
            indices[lo + by:hi + by] = indices[lo:hi]
    for lo, hi, by in runs:
        if by < 0:
            data[lo + by:hi + by] = data[lo:hi]
            indices[lo + by:hi + by] = indices[lo:hi]
    if inserts:
        at = np.array([p for p, _, _ in inserts], dtype=np.int64)
        indices[at] = [c for _, c, _ in inserts]
        data[at] = [v for _, _, v in inserts]
    indptr = matrix.indptr
    indptr[1:] += np.cumsum(counts).astype(indptr.dtype, copy=False)
    return room.holding(matrix, nnz + shift, indptr)


def gathered_at(matrix_t: sp.csr_array, which: np.ndarray, weights: np.ndarray, at: np.ndarray
                ) -> np.ndarray:
    """``gathered(matrix_t, which, weights)[at]`` (``at`` sorted and distinct): each value the
    same sum of the same products in the same order. When the rows read have fewer entries
    than the network has members, only the entries that fall in ``at`` are summed (a
    suggestion's partners in common, core offers, ties), with no network-wide array."""
    starts, lengths = _spans(matrix_t, which)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(len(at))
    if total * 8 > matrix_t.shape[1]:
        return gathered(matrix_t, which, weights)[at]
    positions = _positions(starts, lengths, total)
    place, hit = _places(at, matrix_t.indices[positions])
    values = matrix_t.data[positions] * np.repeat(np.asarray(weights, np.float64), lengths)
    return np.bincount(place[hit], weights=values[hit], minlength=len(at))


def row_at(matrix: sp.csr_array, row: int, at: np.ndarray) -> np.ndarray:
    """Row ``row`` of ``matrix`` at the columns ``at`` (sorted and distinct), dense."""
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    out = np.zeros(len(at), dtype=matrix.dtype)
    if hi > lo:
        place, hit = _places(at, matrix.indices[lo:hi])
        out[place[hit]] = matrix.data[lo:hi][hit]
    return out


def _places(at: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``columns`` sits in the sorted ``at``, and which of them are there."""
    place = np.searchsorted(at, columns)
    place[place == len(at)] = 0
    return place, at[place] == columns if len(at) else np.zeros(len(columns), dtype=bool)
