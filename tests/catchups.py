"""One comparison of two catch-ups, for the tests that hold one way of learning a network's
changes (a write's hand-over, a replay of kept states) to a read of the current state."""

from __future__ import annotations

from typing import Any

from graph.changes import Catchup


def _canonical(rows: list[dict[str, Any]] | None) -> list[str] | None:
    """Rows in an order-free form (a catch-up's rows come in no promised order)."""
    return None if rows is None else sorted(repr(sorted(r.items())) for r in rows)


def assert_same_catchup(got: Catchup, expected: Catchup) -> None:
    """``got`` tells a reader exactly what ``expected`` tells it: the same window, the same
    changes (their time of writing aside) and the same rows of members, ties, decisions,
    agents and verdicts, whatever their order."""
    assert (got.since, got.version, got.complete) == \
        (expected.since, expected.version, expected.complete)
    assert [(c.version, c.kind, c.members) for c in got.changes] == \
        [(c.version, c.kind, c.members) for c in expected.changes]
    assert got.profile_members == expected.profile_members
    assert got.tie_members == expected.tie_members
    assert got.feedback_members == expected.feedback_members
    assert got.network == expected.network
    for name in ("members", "ties", "feedback", "agents", "verdicts"):
        assert _canonical(getattr(got, name)) == _canonical(getattr(expected, name)), name
