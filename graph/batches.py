"""Statements over many rows, sent in batches well under the Bolt message limit.

ArcadeDB drops a Bolt message over 16 MiB without any answer (the client would wait for good),
and a big message costs memory on both sides. A statement that takes ``$rows`` therefore runs once
per batch of at most ``MAX_BATCH_BYTES`` (measured as JSON, which is larger than the PackStream
the driver sends) or ``MAX_BATCH_ROWS`` rows, all inside the caller's transaction: an import is
still all-or-nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

MAX_BATCH_BYTES = 1 << 20
MAX_BATCH_ROWS = 5_000

Progress = Callable[[str, int], None]  # (what, rows written)


def batches(rows: list[Any], max_bytes: int | None = None,
            max_rows: int | None = None) -> Iterator[list[Any]]:
    """``rows`` cut into consecutive lists of at most ``max_rows`` rows and about ``max_bytes``
    bytes (a single larger row goes alone); the module's limits by default."""
    max_bytes = max_bytes or MAX_BATCH_BYTES
    max_rows = max_rows or MAX_BATCH_ROWS
    batch: list[Any] = []
    size = 0
    for row in rows:
        row_size = len(json.dumps(row, default=str))
        if batch and (size + row_size > max_bytes or len(batch) >= max_rows):
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += row_size
    if batch:
        yield batch


def run_batched(tx: Any, query: str, rows: list[Any], *, progress: Progress | None = None,
                counts: str = "", **params: Any) -> None:
    """Run ``query`` with ``$rows`` once per batch of ``rows`` in ``tx``; report each batch to
    ``progress`` as ``counts`` rows (nothing reported when ``counts`` is empty)."""
    for batch in batches(rows):
        tx.run(query, rows=batch, **params).consume()
        if progress is not None and counts:
            progress(counts, len(batch))
