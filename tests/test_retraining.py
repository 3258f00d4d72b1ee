"""The rankers' retraining runs in a worker process at the lowest CPU priority (api/retraining.py)
and yields to requests: they keep the previous rankers until the new ones are in, and no
failure of the worker reaches them."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.engine as engine_module
from api import retraining
from api.engine import Engine
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from matching.scoring import PartnerMatcher
from tests.conftest import another_process, small_document
from tests.test_live_engine import ADMIN, _client

PAIRS = [("clinic", "genlab"), ("clinic", "cro"), ("genlab", "cro"), ("cro", "clinic")]


def _answer(client: TestClient, nid: str) -> list[tuple[str, float]]:
    response = client.get(f"/networks/{nid}/members/clinic/suggestions", headers=ADMIN)
    response.raise_for_status()
    body = response.json()
    return [(s["member"], s["score"]) for s in body["suggestions"] + body["strengthen"]]


def _decide(db: Database, client: TestClient, nid: str, count: int) -> None:
    """``count`` of the members' own decisions (what the rankers learn from)."""
    own = {mid: {"Authorization": f"Bearer {issue_token(db, 'member', nid, mid)[0]}"}
           for mid in ("clinic", "genlab", "cro")}
    for i in range(count):
        a, b = PAIRS[i % len(PAIRS)]
        client.post(f"/networks/{nid}/feedback", headers=own[a], json={
            "member": a, "candidate": b, "decision": "accepted" if i % 2 else "declined",
        }).raise_for_status()


def _scheduling(pid: int) -> tuple[int, int]:
    """The nice value and scheduling policy of process ``pid`` (proc(5): fields 19 and 41)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16]), int(fields[38])


def _retrained(engine: Engine, nid: str) -> None:
    retrain = engine._slot(nid).retrain
    assert retrain is not None
    retrain.result(timeout=120)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_rankers_train_in_another_process_at_the_lowest_priority_and_serve_the_next_answer(
        db: Database, nid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import_network(db, small_document(nid, newcomer=True))
    with _client(db) as first:
        engine: Engine = first.app.state.matchers
        untrained = _answer(first, nid)
        matcher = engine._slot(nid).matcher
        assert not matcher.ranker_.is_fitted

        def not_here(self: PartnerMatcher, data: object) -> None:
            raise AssertionError("the rankers were trained in the service's process")

        monkeypatch.setattr(PartnerMatcher, "train_rankers", not_here)  # (not in the worker)
        _decide(db, first, nid, matcher.min_feedback)
        _answer(first, nid)  # catches up, and starts the retraining
        _retrained(engine, nid)
        worker = engine._trainer.pid
        assert worker is not None and worker != os.getpid()
        assert _scheduling(worker) == (19, os.SCHED_IDLE)
        assert matcher.ranker_.is_fitted and engine._slot(nid).matcher is matcher
        trained = _answer(first, nid)
        monkeypatch.undo()
        # Another process's first fit trains the same rankers on the same data, in process.
        with _client(another_process(db)) as second:
            fresh = _answer(second, nid)
    assert [m for m, _ in trained] == [m for m, _ in fresh]
    assert [s for _, s in trained] == pytest.approx([s for _, s in fresh], rel=1e-9)
    assert [s for _, s in trained] != pytest.approx([s for _, s in untrained], rel=1e-6)


def test_a_closed_engine_leaves_no_training_process(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    with _client(db) as first:
        engine: Engine = first.app.state.matchers
        _answer(first, nid)
        _decide(db, first, nid, engine._slot(nid).matcher.min_feedback)
        _answer(first, nid)
        _retrained(engine, nid)
        worker = engine._trainer.pid
        assert worker is not None and Path(f"/proc/{worker}").exists()
    # The app's shutdown closed the engine: the worker is ended and reaped, not a zombie.
    assert not Path(f"/proc/{worker}").exists()


class _Dies:
    """Unpickled by the worker, ends it as a crash would."""

    def __reduce__(self) -> tuple:
        return os._exit, (3,)


def test_a_worker_that_dies_leaves_the_rankers_and_the_answers_and_a_retraining_runs_later(
        db: Database, nid: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import_network(db, small_document(nid, newcomer=True))
    with _client(db) as first:
        engine: Engine = first.app.state.matchers
        _answer(first, nid)
        slot = engine._slot(nid)
        matcher = slot.matcher
        monkeypatch.setattr(retraining, "send", lambda data, file: pickle.dump(_Dies(), file))
        with caplog.at_level(logging.WARNING, logger="partnermatch.engine"):
            _decide(db, first, nid, matcher.min_feedback)
            before = _answer(first, nid)
            _retrained(engine, nid)
        assert "retraining the rankers failed" in caplog.text
        assert not matcher.ranker_.is_fitted  # the previous rankers serve
        assert _answer(first, nid) == before
        later = slot.retrain_later  # again later, though no write may come to ask
        assert later is not None and later.interval == engine_module.RETRAIN_RETRY
        later.cancel()
        monkeypatch.undo()
        slot.retrain_after = 0.0
        failed = slot.retrain
        later.function(*later.args)  # its time has come: a new worker trains
        assert slot.retrain is not failed
        _retrained(engine, nid)
        assert matcher.ranker_.is_fitted
        assert _answer(first, nid) != before
