"""The rankers' retraining, in a process of its own at the lowest CPU priority (``Trainer``).

Training a network's rankers costs about a second of CPU at 10,000 members (the features of the
labelled pairs, then two logistic regressions: ``PartnerMatcher.train_rankers``). On a thread of
the service it shared the interpreter lock and the cores with the requests: under the mixed load
at 10k, 3-4 ms of CPU per write, the largest item of a write's cost (docs/benchmarks.md). Here the
service only takes the data (``ranker_data``, milliseconds) and pickles it into a pipe; one
worker process trains at nice 19 and, on Linux, ``SCHED_IDLE``: it runs on CPU that nothing else
wants, so requests never wait for it. A busy machine delays a retraining instead, and the
requests keep the previous rankers until it is done.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any


if TYPE_CHECKING:
    from matching.ranker import RankerData, Rankers
    from matching.scoring import PartnerMatcher

log = logging.getLogger("partnermatch.retraining")
# What the training does not read of the features (``FeedbackRanker.fit``: their member count
# and ``NetworkFeatures.block``, which reads arrays only), left out of what is sent: the member
# texts and per-member lists and dicts are Python objects, slow to pickle (the projection alone
# was half the pickling at 10k). The arrays go as they are, their transposed forms too (rebuilt,
# they might not be the same bit for bit as the ones kept up to date by the edits).
LEFT_BEHIND = ("texts", "levels_of", "urgency_of", "severity_of", "zone_of", "core_of",
               "_positive", "_competing")


class TrainerClosed(RuntimeError):
    """The engine was closed: no retraining runs any more."""


class TrainingFailed(RuntimeError):
    """The worker process died or the training raised: the rankers stay as they were."""


def matcher_parameters(matcher: PartnerMatcher) -> dict[str, Any]:
    """The matcher's constructor parameters (scikit-learn's ``get_params``): all the worker
    needs of it besides the data, since ``train_rankers`` learns nothing else."""
    names = inspect.signature(type(matcher).__init__).parameters
    return {name: getattr(matcher, name) for name in names if name != "self"}


@dataclass(frozen=True)
class _Members:
    """What the training reads of the projection."""

    n_members: int


def _features(cls: type, state: dict[str, Any]) -> Any:
    features = object.__new__(cls)
    features.__dict__.update(state)
    return features


class _Sender(pickle.Pickler):
    """Pickles ``RankerData`` with its features' arrays only (``LEFT_BEHIND``), each object as
    it was when its turn came.

    The data's frozen features share objects with the live matcher (its arrays, the taxonomy's
    parts, the sector codes), and requests and edits go on while the data is sent: scipy notes
    flags in an array's ``__dict__`` when a request first asks (``has_sorted_indices``), the
    taxonomy's parts keep the transposed forms a member's row is computed with, an edit may add
    a sector code. A pickler walking those dicts while the pipe blocked failed with
    "dictionary changed size during iteration" (seen under edits at 10k), and the retraining
    with it. So every object goes by a copy of its attributes, taken in one step (a dict copy
    runs no Python code), and the caches stay behind."""

    def reducer_override(self, obj: Any) -> Any:
        from matching.features import NetworkFeatures
        from matching.member_rows import TaxonomyParts

        if isinstance(obj, NetworkFeatures):
            state = obj.__getstate__()  # (what any pickled copy holds)
            for name in LEFT_BEHIND:
                state.pop(name, None)
            state["projection"] = _Members(obj.projection.n_members)
            for name in ("_sectors", "_regions", "_segments"):  # (their dicts of codes too)
                if name in state:
                    codes = state[name] = copy.copy(state[name])
                    codes.seen = dict(codes.seen)
            return _features, (type(obj), state)
        if isinstance(obj, type) or not hasattr(obj, "__dict__"):
            return NotImplemented
        try:
            reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        except TypeError:  # (a function: pickled by name)
            return NotImplemented
        if not isinstance(reduced, tuple) or len(reduced) < 3 or reduced[2] is not obj.__dict__:
            return NotImplemented  # (by its own state)
        state = dict(obj.__dict__)
        if isinstance(obj, TaxonomyParts):
            state.pop("_transposed64", None)  # (a cache: the training never reads it)
        return (*reduced[:2], state, *reduced[3:])


def send(data: RankerData, file: IO[bytes]) -> None:
    """Pickle ``data`` into ``file`` for the worker (without the parts it does not read)."""
    _Sender(file, protocol=pickle.HIGHEST_PROTOCOL).dump(data)


def _lowest_priority(pid: int = 0) -> None:
    """Process ``pid`` (0: this one) at nice 19 and, on Linux, ``SCHED_IDLE``: it runs only
    when a core has nothing else to run."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 19)
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # elsewhere, or not permitted: what could be set
        pass


def _serve(pipes: _Pipes) -> None:
    """The worker: trains rankers for each (parameters, data) received, until the pipe ends."""
    _lowest_priority()  # (the service lowered it already, a moment after it started)
    from matching.scoring import PartnerMatcher  # (imported at the lowest priority too)

    while True:
        try:
            parameters = pickle.load(pipes.incoming)
            started = time.process_time()  # (waiting for a job used none)
            data = pickle.load(pipes.incoming)
        except EOFError:  # the service closed the pipe or ended
            return
        try:
            rankers = PartnerMatcher(**parameters).train_rankers(data)
            reply: tuple[str, Any] = ("rankers", (rankers, time.process_time() - started))
        except Exception:  # the service logs it and keeps its rankers
            reply = ("failed", traceback.format_exc())
        del data
        try:
            pickle.dump(reply, pipes.outgoing, protocol=pickle.HIGHEST_PROTOCOL)
            pipes.outgoing.flush()
        except OSError:  # the service ended meanwhile
            return


class Trainer:
    """One worker process for every network of an engine, started when the first retraining is
    due (most engines, in the tests, never retrain) and again after it died; ``close`` ends it.
    One training at a time (the engine retrains on one thread)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._busy = threading.Lock()  # held while a training is sent and its answer awaited
        self._worker: subprocess.Popen | None = None
        self._pipes: _Pipes | None = None  # to the worker and back
        self._closed = False
        self.worker_cpu = 0.0  # the worker's CPU seconds for the last training (``train``)

    @property
    def pid(self) -> int | None:
        """The worker's process id, while it runs."""
        with self._guard:
            return self._worker.pid if self._worker is not None else None

    def train(self, parameters: dict[str, Any], take: Callable[[], RankerData]) -> Rankers:
        """The rankers that ``PartnerMatcher(**parameters).train_rankers`` learns from the data
        ``take`` returns, trained in the worker; this thread waits without using the CPU. The
        data is taken when the worker is there to receive it and dropped once the worker has
        read it (the pipe holds 64 KB: while the worker waits for idle CPU, so does this): its
        frozen features share the live arrays, and while they live an edit copies each array it
        writes, once.
        Raises ``TrainingFailed`` if the worker died or the training raised, ``TrainerClosed``
        after ``close``."""
        with self._busy:
            pipes, worker = self._started()
            try:
                pickle.dump(parameters, pipes.outgoing, protocol=pickle.HIGHEST_PROTOCOL)
                send(take(), pipes.outgoing)
                pipes.outgoing.flush()
                kind, value = pickle.load(pipes.incoming)
            except (EOFError, OSError, pickle.UnpicklingError):  # it died, or ``close`` ended it
                code = worker.wait()
                self._forget(worker)
                with self._guard:
                    if self._closed:
                        raise TrainerClosed() from None
                raise TrainingFailed(f"the training process {worker.pid} ended "
                                     f"(exit code {code})") from None
            except BaseException:  # (half a message in its pipe: it cannot go on)
                worker.kill()
                worker.wait()
                self._forget(worker)
                raise
        if kind == "failed":
            raise TrainingFailed(value)
        rankers, self.worker_cpu = value
        return rankers

    def _started(self) -> tuple[_Pipes, subprocess.Popen]:
        with self._guard:
            if self._closed:
                raise TrainerClosed()
            worker, pipes = self._worker, self._pipes
        if worker is not None and pipes is not None and worker.poll() is None:
            return pipes, worker
        if worker is not None:
            log.warning("the ranker training process %s ended (exit code %s): starting another",
                        worker.pid, worker.returncode)
            self._forget(worker)
        # A new interpreter, not ``multiprocessing``: a fork would copy this process's threads'
        # locks (the database driver's, the logging's) in whatever state they are in, and a
        # daemonic process (a ``multiprocessing`` pool's) may not start children of its own.
        # Two pipes of its own: its output and errors stay the service's.
        from_service, to_worker = os.pipe()  # (read end, write end)
        from_worker, to_service = os.pipe()
        code = str(Path(__file__).resolve().parent.parent)  # the same code as this process
        path = os.pathsep.join([code, *filter(None, [os.environ.get("PYTHONPATH")])])
        command = [sys.executable, "-m", "api.retraining", str(from_service), str(to_service)]
        try:
            with self._guard:
                if self._closed:  # (closed meanwhile: start nothing)
                    raise TrainerClosed()
                worker = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                          pass_fds=(from_service, to_service),
                                          env={**os.environ, "PYTHONPATH": path})
                pipes = _Pipes(from_worker, to_worker)
                self._worker, self._pipes = worker, pipes
        except BaseException:
            os.close(from_worker)
            os.close(to_worker)
            raise
        finally:  # its ends: once it dies, reading ours ends instead of waiting for good
            os.close(from_service)
            os.close(to_service)
        _lowest_priority(worker.pid)  # at once: its start-up (imports) costs CPU too
        return pipes, worker

    def _forget(self, worker: subprocess.Popen) -> None:
        with self._guard:
            if self._worker is not worker:
                return
            pipes, self._worker, self._pipes = self._pipes, None, None
        if pipes is not None:
            pipes.close()

    def close(self) -> None:
        """End the worker, at once if it is training (its result is not wanted any more), and
        start none from now on."""
        with self._guard:
            self._closed = True
            worker = self._worker
        if worker is None:
            return
        worker.kill()
        worker.wait()
        if self._busy.acquire(blocking=False):  # else the training thread closes the pipes
            try:
                self._forget(worker)
            finally:
                self._busy.release()


class _Pipes:
    """The two one-way pipes between the service and the worker, as buffered files."""

    def __init__(self, incoming: int, outgoing: int) -> None:
        self.incoming, self.outgoing = os.fdopen(incoming, "rb"), os.fdopen(outgoing, "wb")

    def close(self) -> None:
        for pipe in (self.incoming, self.outgoing):
            try:
                pipe.close()
            except OSError:  # (what was left in the buffer could not go: the worker is gone)
                pass


if __name__ == "__main__":  # the worker (``Trainer._started``): the pipes' descriptors
    _serve(_Pipes(int(sys.argv[1]), int(sys.argv[2])))
