"""The live engine's sparse splices give exactly the arrays a rebuild gives: the exactness of
every incremental answer rests on it."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matching import rows as rows_module
from matching.rows import (Room, gathered, replace_columns, replace_columns_in_place,
                           replace_rows, replace_rows_in_place, set_columns, set_rows,
                           transposed)


def _random(rng: np.random.Generator, rows: int, cols: int) -> sp.csr_array:
    return sp.csr_array(sp.random(rows, cols, density=rng.random(), dtype=np.float32,
                                  random_state=int(rng.integers(1 << 30))))


def _spliced(dense: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    out = np.zeros((max([dense.shape[0], *(rows + 1)]), dense.shape[1]), dense.dtype)
    out[:dense.shape[0]] = dense
    out[rows] = new
    return out


def test_a_patched_transpose_equals_the_transpose_of_the_patched_rows() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        n, c = int(rng.integers(1, 30)), int(rng.integers(1, 12))
        old = _random(rng, n, c)
        grown_to = n + int(rng.integers(0, 3))  # new members are rows past the end
        rows = rng.choice(grown_to, size=min(int(rng.integers(0, 4)), grown_to), replace=False)
        new = _random(rng, len(rows), c)
        if rng.random() < 0.5 and rows.size and rows.max() < n:  # a level edited: values only
            new = sp.csr_array(old[rows] * 2.0)
        expected = transposed(replace_rows(old, rows, new))
        got = replace_columns(transposed(old), rows, old, new, expected.shape[1])
        assert got.shape == expected.shape
        assert np.array_equal(replace_rows(old, rows, new).toarray(),
                              _spliced(old.toarray(), rows, new.toarray()))
        for name in ("indptr", "indices", "data"):  # array for array: bit-equal products
            assert np.array_equal(getattr(got, name), getattr(expected, name)), name


def test_values_written_in_place_equal_the_splice() -> None:
    """An edit that keeps each row's columns is written into the arrays (no copy of the rest),
    giving the arrays the splice gives; any other edit is refused with nothing written."""
    rng = np.random.default_rng(9)
    written = refused = 0
    for _ in range(500):
        n, c = int(rng.integers(1, 30)), int(rng.integers(1, 12))
        old = _random(rng, n, c)
        rows = rng.choice(n, size=min(int(rng.integers(1, 4)), n), replace=False)
        new = sp.csr_array(old[rows] * 2.0) if rng.random() < 0.7 else _random(rng, len(rows), c)
        new.sort_indices()
        expected = replace_rows(old, rows, new)
        expected_t = replace_columns(transposed(old), rows, old, new, n)
        before = old.copy()
        patched, patched_t = old.copy(), transposed(old)
        ok_t = set_columns(patched_t, rows, before, new)  # reads the columns before the rows
        ok = set_rows(patched, rows, new)
        assert ok == ok_t
        if not ok:
            refused += 1
            for got, was in ((patched, before), (patched_t, transposed(before))):
                for name in ("indptr", "indices", "data"):
                    assert np.array_equal(getattr(got, name), getattr(was, name)), name
            continue
        written += 1
        for got, want in ((patched, expected), (patched_t, expected_t)):
            for name in ("indptr", "indices", "data"):
                assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert written and refused


def test_gathered_rows_sum_as_the_product() -> None:
    rng = np.random.default_rng(8)
    for _ in range(200):
        matrix = _random(rng, int(rng.integers(1, 15)), int(rng.integers(1, 20)))
        which = rng.choice(matrix.shape[0], size=int(rng.integers(0, matrix.shape[0] + 1)),
                           replace=False)
        weights = rng.random(len(which))
        assert np.allclose(gathered(matrix, which, weights),
                           weights @ matrix.toarray()[which], rtol=1e-6, atol=1e-9)


def test_rows_spliced_in_place_equal_the_copied_splice(monkeypatch) -> None:
    """A large array's edits move its entries within buffers with room instead of copying it:
    the arrays are those the copy gives, edit after edit, in the row form and the transposed
    one; when the room runs short nothing is written and the caller copies."""
    monkeypatch.setattr(rows_module, "ROOM_MIN", 6)
    rng = np.random.default_rng(11)
    spliced = short = 0
    for _ in range(150):
        n, c = int(rng.integers(1, 25)), int(rng.integers(1, 12))
        matrix = _random(rng, n, c)
        matrix.sort_indices()
        roomy, room = Room.around(matrix)
        roomy_t, room_t = Room.around(transposed(matrix))
        for _ in range(4):
            rows = rng.choice(n, size=min(int(rng.integers(1, 4)), n), replace=False)
            new = _random(rng, len(rows), c)
            new.sort_indices()
            expected = replace_rows(matrix, rows, new)
            expected_t = transposed(expected)
            got_t = replace_columns_in_place(roomy_t, room_t, rows, matrix, new, n)
            got = replace_rows_in_place(roomy, room, rows, new)
            for result, want, name in ((got, expected, "rows"), (got_t, expected_t, "columns")):
                if result is None:  # short of room: nothing written, the copy is the way
                    short += 1
                    continue
                spliced += 1
                for part in ("indptr", "indices", "data"):
                    assert np.array_equal(getattr(result, part), getattr(want, part)), \
                        (name, part)
                assert result.shape == want.shape
            if got is None or got_t is None:
                break
            matrix, roomy, roomy_t = expected, got, got_t
    assert spliced and short
