"""The service's garbage-collector policy (api/memory.py): freezing the live matcher must not keep
a replaced matcher alive."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from api import memory
from benchmarks.synthetic import generate
from matching.projection import build_projection
from matching.scoring import PartnerMatcher


def _fitted(seed: int) -> PartnerMatcher:
    doc = generate(60, seed, nid=f"mem-{seed}")
    return PartnerMatcher().fit(build_projection(doc["network"], doc["capabilities"],
                                                 doc["members"], doc.get("ties", [])))


def _parts(matcher: PartnerMatcher) -> tuple[weakref.ref, weakref.ref]:
    """Weak references to a matcher and to its ties graph (half its objects at 10k members)."""
    return weakref.ref(matcher), weakref.ref(matcher.projection_.ties)


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The policy on for small networks; the process's collector as it was afterwards."""
    monkeypatch.setattr(memory, "FREEZE_MEMBERS", 1)
    yield
    gc.unfreeze()
    gc.collect()


def test_a_replaced_matcher_is_freed_although_it_was_frozen(policy: None) -> None:
    live = {"net": _fitted(1)}
    assert memory.after_fit(live["net"]) >= 0.0
    assert gc.get_freeze_count() > 0  # the installed matcher is out of the collector's walks
    old = _parts(live["net"])
    live["net"] = _fitted(2)  # a refit installs its matcher in place of the previous one
    memory.after_fit(live["net"])
    assert [part() for part in old] == [None, None]
    assert live["net"].suggest(live["net"].projection_.member_ids[0])  # the new one serves


def test_freezing_alone_would_keep_a_replaced_matcher(policy: None) -> None:
    """Why ``after_fit`` collects before it freezes: a matcher's ties graph holds reference
    cycles (networkx caches views that point back at the graph), which reference counting never
    frees, and frozen objects are never cycle-collected."""
    live = {"net": _fitted(3)}
    gc.collect()
    gc.freeze()
    matcher, ties = _parts(live["net"])
    live["net"] = _fitted(4)
    gc.collect()
    assert matcher() is None and ties() is not None  # the graph outlived its matcher
    memory.after_fit(live["net"])
    assert ties() is None


def test_small_networks_force_no_collection() -> None:
    assert memory.after_fit(_fitted(5)) == 0.0  # 60 members, below FREEZE_MEMBERS


def test_tune_freezes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_tuned", False)
    try:
        memory.tune()
        assert gc.get_freeze_count() > 0  # what the imports left is out of every collection's walk
        # A second app in the same process changes nothing. (Counted as calls, not as the freeze
        # count: an earlier test's background fit may freeze its matcher meanwhile, after_fit.)
        calls: list[str] = []
        monkeypatch.setattr(memory.gc, "freeze", lambda: calls.append("freeze"))
        monkeypatch.setattr(memory.gc, "collect", lambda *a: calls.append("collect") or 0)
        memory.tune()
        assert calls == []
    finally:
        gc.unfreeze()
        gc.collect()


def test_no_automatic_collection_while_a_fit_runs() -> None:
    assert gc.isenabled()
    with memory.fitting():
        assert not gc.isenabled()
        with memory.fitting():  # two fits at once (a refit and an analysis's own fit)
            pass
        assert not gc.isenabled()  # the other fit still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), memory.fitting():
        raise RuntimeError("the database went away during the fit")
    assert gc.isenabled()


def test_an_engine_refit_frees_the_matcher_it_replaces(policy: None, db, nid: str) -> None:
    """Through ``Engine._fit``: an import refits the network on the background thread, and the
    collection after the new matcher is installed frees the old one, ties graph included."""
    from api.engine import Engine
    from graph.store import import_network
    from tests.conftest import small_document

    import_network(db, small_document(nid))
    engine = Engine()
    try:
        with engine.reading(db, nid) as matcher:
            old = _parts(matcher)
        del matcher
        import_network(db, small_document(nid))  # an import is applied by a full refit
        with engine.reading(db, nid) as matcher:
            replaced = matcher is not old[0]()
        del matcher
        assert replaced
        assert [part() for part in old] == [None, None]
    finally:
        engine.close()
