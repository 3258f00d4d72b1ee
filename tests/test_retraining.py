"""The rankers' retraining runs in a worker process at the lowest CPU priority (api/retraining.py)
and yields to requests: they keep the previous rankers until the new ones are in, and no
failure of the worker reaches them."""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from fastapi.testclient import TestClient

import api.engine as engine_module
from api import retraining
from api.engine import Engine
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from matching.projection import build_projection
from matching.scoring import PartnerMatcher
from tests.conftest import another_process, member, small_document
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


def test_the_rankers_trained_in_the_worker_are_those_trained_in_the_service() -> None:
    """Same data, same ``random_state``: the same models bit for bit (what is left out of the
    data sent is what the training does not read)."""
    members = [member(f"lab{i}", caps=[("pgt", 3 + i % 3)]) for i in range(12)]
    members += [member(f"clinic{i}", needs=[("pgt", 4, "service")]) for i in range(6)]
    taxonomy = [{"id": "pgt", "label": "PGT", "kind": "service"}]
    feedback = [{"member": f"clinic{i % 6}", "candidate": f"lab{i}", "at": f"2026-11-{10 + i}",
                 "decision": "accepted" if i % 3 else "declined"} for i in range(12)]
    matcher = PartnerMatcher(random_state=7).fit(
        build_projection({"id": "t", "name": "T"}, taxonomy, members, (), feedback))
    here = matcher.train_rankers(matcher.ranker_data())
    trainer = retraining.Trainer()
    try:
        there = trainer.train(retraining.matcher_parameters(matcher), matcher.ranker_data)
    finally:
        trainer.close()
    assert there.decisions == here.decisions == 12
    assert trainer.worker_cpu > 0  # (what the engine's duty counts)
    for ours, theirs in ((here.facilitator, there.facilitator), (here.public, there.public)):
        assert theirs.is_fitted and theirs.view == ours.view
        for step, name in ((0, "mean_"), (0, "scale_"), (1, "coef_"), (1, "intercept_")):
            np.testing.assert_array_equal(getattr(theirs.model_[step], name),
                                          getattr(ours.model_[step], name))


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


def test_the_data_is_sent_while_requests_read_the_arrays_it_shares() -> None:
    """The data's frozen features share the live matcher's arrays and taxonomy parts: scipy
    notes flags in an array's ``__dict__`` when a request first asks for them
    (``has_sorted_indices``), and an edit's row computation caches transposed forms in the
    taxonomy parts. Sending iterated those dicts while the pipe blocked: "dictionary changed
    size during iteration", and the retraining failed. Here a thread keeps adding and dropping
    both on the shared objects while the data goes through a slow pipe."""
    taxonomy = [{"id": f"c{k}", "label": f"Service number {k}", "kind": "service"}
                for k in range(2000)]  # (its parts too are larger than a frame)
    members = [member(f"m{i}", caps=[(f"c{(i + k) % 2000}", 1 + k) for k in range(4)],
                      needs=[(f"c{(i * 7 + k) % 2000}", 3, "service") for k in range(3)])
               for i in range(1000)]  # (arrays beyond the pickler's frames go out as reached)
    matcher = PartnerMatcher().fit(build_projection({"id": "t", "name": "T"}, taxonomy, members, ()))
    data = matcher.ranker_data()
    arrays = [a for a in vars(matcher.features_).values() if isinstance(a, sp.csr_array)]
    arrays += list(matcher.features_.__dict__.get("_transposed", {}).values())
    assert arrays
    stop = threading.Event()

    taxonomy_parts = matcher.features_.taxonomy_

    def requests_reading() -> None:
        while not stop.is_set():
            for a in arrays:
                a.__dict__.pop("_has_sorted_indices", None)
                a.has_sorted_indices  # noqa: B018 (scipy notes it in the array's __dict__)
            taxonomy_parts.__dict__.pop("_transposed64", None)  # (an edit's row computes it)
            taxonomy_parts.transposed_float64("similar")

    def slow_reader(fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            while pipe.read(8192):
                time.sleep(0.0002)

    reading = threading.Thread(target=requests_reading)
    reading.start()
    try:
        for _ in range(2):
            incoming, outgoing = os.pipe()
            reader = threading.Thread(target=slow_reader, args=(incoming,))
            reader.start()
            with os.fdopen(outgoing, "wb") as pipe:
                retraining.send(data, pipe)
            reader.join()
    finally:
        stop.set()
        reading.join()
