"""Live matchers, one per network, kept current through the change log (graph/changes.py).

Each request checks the network's version (one indexed lookup). When the matcher is behind, the
changes after its version and the current state of the members they name are read in one
transaction and applied in place (``PartnerMatcher.apply_changes``): milliseconds, whichever
process made the write. The writer's own process skips that read: each of its writes hands over
what it changed and the state it left, read in the write's transaction
(``graph.changes.CommittedChanges``), and it is applied in the writer's thread as soon as the
write has committed and passed its turn on (``follow``), so the next request finds the matcher
current. What cannot be applied as a delta (an import, a taxonomy change) runs as a full fit on
a background thread, and the rankers' periodic retraining in a worker process at the lowest CPU
priority (api/retraining.py); requests keep the previous matcher or rankers meanwhile. A network
nobody has fitted yet answers 503 with ``Retry-After`` while its first fit runs, if that takes
longer than ``first_fit_wait``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from api import memory, retraining
from api.version_checks import SharedChecks
from graph.changes import Catchup, Written, committed_changes, read_changes
from graph.database import Database
from graph.projection import projection_of
from graph.store import board_versions_of, looked_up_versions, network_sizes, read_network_rows
from graph.turns import after_turns
from matching.ranker import RankerData
from matching.scoring import PartnerMatcher, StaleTaxonomy
from matching.sharing import Kept

DECLINE_DAYS = 180
RETRAIN_SHARE = 0.2  # the rankers are refitted when decisions grew by this share
# At most this share of a core goes to one network's retraining: this process's part (taking
# the data and pickling it for the worker) and the worker's (the training, in a process at the
# lowest priority: api/retraining.py). The worker's CPU was first left out, as it only takes
# what is idle; but under two service processes' mixed load at 10k, each retraining every few
# seconds, the workers took 0.3-0.5 of the 2 cores (docs/benchmarks.md): background work that
# grows with the decision rate and is no request's. At 10k a training costs about 1.5 s of CPU:
# one every 30 s at most.
RETRAIN_DUTY = 0.05
RETRAIN_RETRY = 60.0  # seconds before a retraining that failed (its worker died) runs again
TOMBSTONE_SHARE = 0.1  # rows of deleted members tolerated before a background refit
SETTLE_WAIT = 1.0  # seconds a request waits for this process's committing writes' hand-over
log = logging.getLogger("partnermatch.engine")


class NotReady(RuntimeError):
    """The network's first fit is still running; retry after ``retry_after`` seconds."""

    def __init__(self, nid: str, retry_after: int):
        super().__init__(f"the matcher of network {nid!r} is being prepared")
        self.retry_after = retry_after


class Closing(RuntimeError):
    """The engine is being closed: its background work ends and no more of it starts."""

    def __init__(self) -> None:
        super().__init__("the live matchers are being closed")


class _ReadWriteLock:
    """Many readers (requests scoring) or one writer (a catch-up applying changes)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._writing = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class _CatchUp:
    """The one catch-up of a network at a time: a lock, which a request that needs only what the
    catch-up running applies waits out without taking it in turn (``wait_out``).

    Requests that found the matcher behind used to queue for the lock itself: after an apply
    each took it, found the matcher current and let it go, one after the other, each handing
    the interpreter lock on (under the mixed load at 10k, about 40 % of the reads waited for
    it, 8 / 48 ms at the median / p95); and they waited for everything the holder did after the
    apply too (the retraining check). Now they wake together once the version they need is in.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False

    def __enter__(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._held)
            self._held = True

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Let the lock go (after ``try_enter``, or as ``with`` does)."""
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def try_enter(self) -> bool:
        """Take the lock if it is free; False at once otherwise."""
        with self._cond:
            if self._held:
                return False
            self._held = True
            return True

    def moved(self) -> None:
        """The matcher's version moved: wake whoever waits it out."""
        with self._cond:
            self._cond.notify_all()

    def wait_out(self, done: Callable[[], bool]) -> None:
        """Wait while a catch-up runs and ``done()`` is false (read under the lock's condition,
        so a version set before ``moved`` is seen)."""
        with self._cond:
            self._cond.wait_for(lambda: done() or not self._held)


@dataclass
class _Slot:
    """One network's live matcher and the versions it reflects."""

    matcher: PartnerMatcher | None = None
    version: int = -1
    taxonomy: int = -1
    lock: _ReadWriteLock = field(default_factory=_ReadWriteLock)
    catching_up: _CatchUp = field(default_factory=_CatchUp)
    fit: Future | None = None
    retrain: Future | None = None
    retrain_after: float = 0.0  # (monotonic) no retrain starts before, to keep RETRAIN_DUTY
    retrain_later: threading.Timer | None = None  # the one retrain waiting for that time
    catch_up: Future | None = None
    # The writes this process made, by the version they start from, until applied.
    written: dict[int, Catchup] = field(default_factory=dict)
    must_read: bool = False  # a write this process cannot apply without reading the log


def _matcher(projection, network: dict) -> PartnerMatcher:
    policy = network.get("policy") or {}
    return PartnerMatcher(decline_days=policy.get("suppress_declined_days") or DECLINE_DAYS
                          ).fit(projection)


def _apply(matcher: PartnerMatcher, catchup: Catchup) -> None:
    present = {m["id"] for m in catchup.members}
    decline_days = None  # kept, unless the network's policy changed
    if catchup.network is not None:
        policy = catchup.network.get("policy") or {}
        decline_days = policy.get("suppress_declined_days") or DECLINE_DAYS
    matcher.apply_changes(
        members=catchup.members, removed=set(catchup.profile_members - present),
        tie_members=set(catchup.tie_members), ties=catchup.ties,
        feedback_members=set(catchup.feedback_members), feedback=catchup.feedback,
        decline_days=decline_days,
        agents=catchup.agents, verdicts=catchup.verdicts)


def _apply_in_place(slot: _Slot, *catchups: Catchup) -> Literal["applied", "moved", "stale"]:
    """Apply ``catchups``, a chain in version order, to the slot's matcher under one hold of its
    write lock (each hold waits for the requests scoring to finish and holds back new ones), if
    the first follows on from the matcher's version: "moved" when a background fit got further
    meanwhile (nothing to do), "stale" when the shared taxonomy changed under it (only a refit
    can follow; what came before it stays applied)."""
    try:
        with slot.lock.writing():
            if slot.version != catchups[0].since:
                return "moved"
            assert slot.matcher is not None
            for catchup in catchups:
                try:
                    _apply(slot.matcher, catchup)
                except StaleTaxonomy:
                    return "stale"
                slot.version = catchup.version
            return "applied"
    finally:
        slot.catching_up.moved()  # (requests waiting for one of these versions go on)


def _behind(slot: _Slot, version: int, taxonomy: int, held: int) -> bool:
    """Whether the matcher misses a write this request must see (``version`` and ``taxonomy``
    as the request read them, ``held`` the matcher's version when it arrived).

    A matcher ahead of the request's version answers it as it stands: this process applied
    writes that committed after the request looked (reading the log for a write already
    applied found nothing and cost a round trip: 34 of them in 15 s of mixed load at 10k, 83 ms
    each under load). A version below the one held *before* the request looked is no such race,
    since every write applied by then was committed before the check: the network was deleted
    and created again with a lower counter (it starts at the clock in milliseconds, so only
    another host's slower clock does that); the catch-up then finds it replaced and refits."""
    return slot.version < version or slot.taxonomy < taxonomy or version < held


class Engine:
    """The live matchers of this process (``app.state.matchers``)."""

    def __init__(self, *, first_fit_wait: float = 5.0, refit_wait: float = 5.0):
        self.first_fit_wait = first_fit_wait
        self.refit_wait = refit_wait
        self._slots: dict[str, _Slot] = {}
        self._guard = threading.Lock()
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._following: list[tuple[Database, Callable[[list[Written]], None]]] = []
        self._versions: SharedChecks[tuple[int, int]] = SharedChecks()
        self._warm: Future | None = None  # the start-up fits (``warm``), while they run
        self._closings = 0  # how many times ``close`` ran: a warm start stops at the next one
        self._closing = False  # while ``close`` runs: background work ends, and none starts
        self._trainer = retraining.Trainer()  # its worker process starts with the first retrain
        # Queued requests (``reading(queued=True)``: one member's suggestions, short and alike)
        # score one at a time. Scoring is Python and numpy under one interpreter lock: side by
        # side, the requests took turns at it every few milliseconds and each waited for all
        # the others. At 10k, 8 threads, quiet (docs/benchmarks.md): 167-179 requests/s, read
        # p95 88-101 ms side by side; 324-435 requests/s, p95 44-49 ms one at a time. Long
        # requests (a consortium, a list of rivalries) do not queue: one of them would hold up
        # every suggestion behind it. Reentrant: a page may read inside a request that reads.
        self._scoring = threading.RLock()

    def _executor(self, name: str) -> ThreadPoolExecutor:
        """One background thread per purpose, created on first use (again after ``close``:
        an app's lifespan may be entered more than once)."""
        with self._guard:
            return self._executor_locked(name)

    def _executor_locked(self, name: str) -> ThreadPoolExecutor:
        if self._closing:  # (what runs is being waited for: it may start nothing more)
            raise Closing()
        if name not in self._executors:
            self._executors[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        return self._executors[name]

    def _slot(self, nid: str) -> _Slot:
        with self._guard:
            return self._slots.setdefault(nid, _Slot())

    # -- the request path -----------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self, db: Database, nid: str, *, queued: bool = False
                ) -> Iterator[PartnerMatcher]:
        """The network's matcher, current as of this request, held against concurrent updates;
        ``queued``: once the queued requests of this process before it are done (for short
        requests alike, such as one member's suggestions: see ``_scoring``)."""
        slot = self._current(db, nid)
        with self._scoring if queued else contextlib.nullcontext(), slot.lock.reading():
            assert slot.matcher is not None
            yield slot.matcher

    def frozen(self, db: Database, nid: str, unless: tuple[int, int] | None = None, *,
               kept: bool = False) -> tuple[PartnerMatcher | Kept, int, int] | None:
        """A copy of the network's matcher, current as of this call, to read at leisure while
        the live one is updated (``PartnerMatcher.frozen``; with ``kept``, held by a handle
        until the live one's next change: ``PartnerMatcher.kept``), and the network and
        taxonomy versions it reflects; None if they are ``unless``. No change is applied while
        it is copied (milliseconds); requests still read."""
        slot = self._current(db, nid)
        with slot.catching_up:  # every change in place is applied under it
            with slot.lock.reading():
                matcher, version, taxonomy = slot.matcher, slot.version, slot.taxonomy
            assert matcher is not None
            if (version, taxonomy) == unless:
                return None
            with memory.fitting():  # (allocates a container per member: no collection)
                copy = matcher.kept if kept else matcher.frozen
                return copy(at=(version, taxonomy)), version, taxonomy

    def _current(self, db: Database, nid: str) -> _Slot:
        with self._guard:  # (no slot for a network that may not exist)
            held = self._slots[nid].version if nid in self._slots else -1
        # The board, read after this request arrived, is as current as a query; each request
        # reads it itself: joining another's read made it wait for that one to end and for the
        # next to start, each after its reads gave up the interpreter lock (at 10k, 8 threads,
        # read-only: the check 12.9 ms at the median, the board's reads 4.7 of it). Lookups in
        # the database are shared (api/version_checks.py); they raise NetworkNotFound.
        known = board_versions_of(db, nid)
        version, taxonomy = known if known is not None else \
            self._versions.check((id(db), nid), lambda: looked_up_versions(db, nid))
        slot = self._slot(nid)
        if slot.matcher is None:
            self._wait(db, self._refit(db, nid, slot), self.first_fit_wait, nid, first=True)
        if not _behind(slot, version, taxonomy, held):
            return slot
        # What a catch-up running applies may be all this request needs (the write that just
        # committed, in its writer's process): wait for it without queueing for the lock.
        slot.catching_up.wait_out(lambda: not _behind(slot, version, taxonomy, held))
        if not _behind(slot, version, taxonomy, held):
            return slot
        with slot.catching_up:  # one catch-up per network at a time; others then find it done
            if _behind(slot, version, taxonomy, held):
                # This process's own writes need no read; one that has committed may not have
                # been handed over yet (its commit and hand-over are not one step).
                self._settle(db, nid)
                self._apply_written(db, nid, slot)
            if _behind(slot, version, taxonomy, held):
                self._catch_up(db, nid, slot)
        return slot

    def _catch_up(self, db: Database, nid: str, slot: _Slot) -> None:
        catchup = read_changes(db, nid, slot.version, slot.taxonomy)
        if not catchup.complete:
            self._wait_for_refit(db, nid, slot, catchup)
            return
        if catchup.changes:
            outcome = _apply_in_place(slot, catchup)
            if outcome == "stale":
                self._wait_for_refit(db, nid, slot, catchup)
            elif outcome == "applied":
                self._maybe_refit(db, nid, slot)

    def _wait_for_refit(self, db: Database, nid: str, slot: _Slot, catchup: Catchup) -> None:
        """Wait (at most ``refit_wait``) for a refit that holds what ``catchup`` read. The fit
        running may have read the network before it (the warm start's, or one after an earlier
        import): then one more, which reads it after. The previous matcher serves meanwhile."""
        deadline = time.monotonic() + self.refit_wait
        while True:
            self._wait(db, self._refit(db, nid, slot), deadline - time.monotonic(), nid,
                       first=False)
            if (slot.version >= catchup.version and slot.taxonomy >= catchup.taxonomy_version) \
                    or time.monotonic() >= deadline:
                return

    def _maybe_refit(self, db: Database, nid: str, slot: _Slot) -> None:
        """Retrain in the background when decisions grew enough or deleted rows pile up."""
        matcher = slot.matcher
        assert matcher is not None
        p = matcher.projection_
        due = max(matcher.min_feedback, matcher.ranker_feedback_ * (1 + RETRAIN_SHARE) + 1)
        # Decisions are what rankers learn (not those recorded on a member's behalf). Counted
        # only when every record could be one: counting walks every record, and this runs after
        # every write (0.3 ms at 10,000 records, linear in them).
        retrain = len(p.feedback) >= due and \
            sum(not f.get("on_behalf") for f in p.feedback) >= due
        tombstones = len(p.member_ids) - len(p.member_index)
        if tombstones > TOMBSTONE_SHARE * max(len(p.member_ids), 10):
            self._refit(db, nid, slot)
        elif retrain:
            self._retrain(slot)

    def _retrain(self, slot: _Slot) -> None:
        """Train the rankers again on the live matcher's data (no refit), in the worker process
        (api/retraining.py): the data is taken under the read lock in milliseconds and sent off
        any lock, and the new rankers swapped in under the write lock; requests use the old
        ones meanwhile. One asked for sooner than ``RETRAIN_DUTY`` allows after the last one
        runs once, later; so does one whose worker died, after ``RETRAIN_RETRY``."""
        trainer = self._trainer

        def work() -> None:
            started = time.thread_time()  # this process's CPU (the worker's is added after)
            matcher = slot.matcher
            assert matcher is not None

            def data() -> RankerData:  # (taken when the worker can receive it, then dropped)
                with slot.lock.reading():
                    return matcher.ranker_data()

            try:
                rankers = trainer.train(retraining.matcher_parameters(matcher), data)
            except retraining.TrainerClosed:
                return
            except Exception as failure:  # (the worker died): no write may come to ask again
                log.warning("retraining the rankers failed; again in %.0f s: %s", RETRAIN_RETRY,
                            failure, exc_info=not isinstance(failure, retraining.TrainingFailed))
                with self._guard:
                    slot.retrain_after = time.monotonic() + RETRAIN_RETRY
                    self._retrain_later_locked(slot, RETRAIN_RETRY)
                return
            with slot.lock.writing():
                if slot.matcher is matcher:  # a full fit trained its own meanwhile
                    matcher.use_rankers(rankers)
            spent = time.thread_time() - started + trainer.worker_cpu
            with self._guard:
                slot.retrain_after = time.monotonic() + spent * (1 / RETRAIN_DUTY - 1)

        with self._guard:
            if self._closing:
                return
            if slot.retrain is not None and not slot.retrain.done():
                return  # (it sets the next time a retrain may start when it ends)
            wait = slot.retrain_after - time.monotonic()
            if wait <= 0:
                slot.retrain = self._executor_locked("retrain").submit(work)
            else:
                self._retrain_later_locked(slot, wait)

    def _retrain_later_locked(self, slot: _Slot, wait: float) -> None:
        if slot.retrain_later is None and self._executors:  # (none once closed)
            slot.retrain_later = threading.Timer(wait, self._retrain_when_due, (slot,))
            slot.retrain_later.daemon = True
            slot.retrain_later.start()

    def _retrain_when_due(self, slot: _Slot) -> None:
        with self._guard:
            slot.retrain_later = None
            closed = not self._executors  # (the engine was closed meanwhile)
        if not closed and slot.matcher is not None:
            self._retrain(slot)

    def _wait(self, db: Database, fit: Future, timeout: float, nid: str, *,
              first: bool) -> None:
        """Wait for ``fit`` at most ``timeout`` seconds, in short steps: a request waiting for a
        fit answers 503 at once when the database goes down meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                fit.result(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                return
            except TimeoutError:
                db.check_available()
                if time.monotonic() < deadline:
                    continue
                if first:
                    raise NotReady(nid, retry_after=max(1, int(timeout))) from None
                return  # a refit after an import: the previous matcher serves until it is done

    # -- this process's own writes ------------------------------------------------------------
    def follow(self, db: Database) -> None:
        """Apply the writes made through ``db`` (in this process) as they commit, without
        reading them back (``graph.changes.CommittedChanges``)."""

        def written(writes: list[Written]) -> None:
            self._written(db, writes)

        committed_changes(db).subscribe(written)
        with self._guard:
            self._following.append((db, written))

    def _written(self, db: Database, writes: list[Written]) -> None:
        """Called in the writer's thread right after the commit: note the writes and apply them
        there and then, unless a catch-up of the network is running (then on a background
        thread, which takes its turn after it).

        Applied in the writer's thread, the write's answer waits for its apply (about 2 ms of
        CPU for a member edit at 10k, 0.15 for a decision), but no thread has to be woken and
        given the interpreter lock first: handed to a background thread, the apply began
        milliseconds after the commit under load (the thread waits for its turn at the
        interpreter lock), and the requests that found the new version waited that long too."""
        for write in writes:
            with self._guard:
                slot = self._slots.get(write.network)
                if slot is None or slot.matcher is None:
                    continue  # no matcher here yet: its first fit reads the write anyway
                if write.catchup is not None:
                    slot.written[write.catchup.since] = write.catchup
            if write.catchup is None:
                self.catch_up_soon(db, write.network, read=True)
            else:  # (the next write to the network need not wait for it)
                after_turns(functools.partial(self._apply_now, db, write.network, slot))

    def _apply_now(self, db: Database, nid: str, slot: _Slot) -> None:
        """Apply this process's writes to ``nid`` in this thread, unless a catch-up runs: then
        on the background thread after it (never waiting for it here: a request holding it may
        be waiting for a hand-over of this thread's, ``_settle``)."""
        if slot.catching_up.try_enter():
            try:
                self._apply_written(db, nid, slot)
                with self._guard:
                    done = not slot.written and not slot.must_read
            except Exception:  # the write stands: the background catch-up or the next request
                log.debug("applying a write of %s in its thread failed", nid, exc_info=True)
                done = False
            finally:
                slot.catching_up.release()
            if done:
                return
        self.catch_up_soon(db, nid, read=False)

    def _settle(self, db: Database, nid: str) -> None:
        """Wait (briefly) for this process's writes to ``nid`` that are committing to be handed
        over, if this engine follows ``db``: cheaper than reading them from the log."""
        with self._guard:
            following = any(d is db for d, _ in self._following)
        if following:
            committed_changes(db).settle(nid, SETTLE_WAIT)

    def _apply_written(self, db: Database, nid: str, slot: _Slot) -> None:
        """Apply this process's own writes that follow on from the matcher's version, in
        order; the caller holds ``slot.catching_up``. What is missing in the chain (another
        process's write) is left to ``_catch_up``."""
        applied = False
        while True:
            with self._guard:
                for since in [s for s, c in slot.written.items() if c.version <= slot.version]:
                    del slot.written[since]  # a catch-up or a fit got there first
                chain, version = [], slot.version  # every write that follows on, in order
                while version in slot.written:
                    chain.append(slot.written.pop(version))
                    version = chain[-1].version
            if not chain:
                break
            outcome = _apply_in_place(slot, *chain)
            if outcome == "stale":  # the next request's catch-up refits
                with self._guard:
                    slot.written.clear()
                break
            if outcome == "moved":  # a fit got further: what lies beyond it still applies
                with self._guard:
                    for catchup in chain:
                        if catchup.version > slot.version:
                            slot.written.setdefault(catchup.since, catchup)
            applied |= outcome == "applied"
        if applied:
            self._maybe_refit(db, nid, slot)

    def catch_up_soon(self, db: Database, nid: str, *, read: bool = True) -> None:
        """Catch ``nid``'s matcher up on a background thread: apply this process's own writes,
        and read the log too if ``read`` (a write that was not handed over), unless it has no
        matcher yet or a catch-up is already waiting to run."""
        with self._guard:
            slot = self._slots.get(nid)
            if slot is None or slot.matcher is None or self._closing:
                return  # (closing: the next lifespan's first request catches up)
            slot.must_read |= read
            if slot.catch_up is not None and not slot.catch_up.running() \
                    and not slot.catch_up.done():
                return
            slot.catch_up = self._executor_locked("catch-up").submit(self._catch_up_quietly,
                                                                     db, nid, slot)

    def _catch_up_quietly(self, db: Database, nid: str, slot: _Slot) -> None:
        try:
            with slot.catching_up:
                self._apply_written(db, nid, slot)
            with self._guard:
                # A gap in this process's writes is another process's write: read the log.
                read, slot.must_read = slot.must_read or bool(slot.written), False
            if read:
                self._current(db, nid)
        except Exception:  # the next request catches up, and reports what went wrong
            log.debug("background catch-up of %s failed", nid, exc_info=True)

    # -- background fits --------------------------------------------------------------------
    def _refit(self, db: Database, nid: str, slot: _Slot) -> Future:
        """Start a full fit of ``nid`` unless one is running; the new matcher replaces the old
        one once it has caught up with the writes made while it was fitted."""
        executor = self._executor("refit")
        with self._guard:
            if slot.fit is None or slot.fit.done():
                slot.fit = executor.submit(self._fit, db, nid, slot)
            return slot.fit

    def _fit(self, db: Database, nid: str, slot: _Slot) -> None:
        for _ in range(3):  # a second import during the fit: fit again
            # No collection while the matcher is built; once it is installed, one collection
            # frees the one it replaced and the new one is frozen (api/memory.py).
            with memory.fitting():
                # ``close`` waits for this fit: it stops between its steps (a fit at 100k
                # takes tens of seconds), each of which reads the database or computes.
                self._go_on()
                rows = read_network_rows(db, nid)
                self._go_on()
                projection = projection_of(rows)
                matcher = _matcher(projection, rows.network)
                self._go_on()
                catchup = read_changes(db, nid, rows.version, rows.taxonomy_version)
                if catchup.complete:
                    try:
                        _apply(matcher, catchup)
                    except StaleTaxonomy:
                        continue
                    with slot.lock.writing():
                        slot.matcher, slot.version = matcher, catchup.version
                        slot.taxonomy = catchup.taxonomy_version
                    slot.catching_up.moved()
                    del rows, projection  # not frozen with the matcher
                    memory.after_fit(matcher)
                    return

    def _go_on(self) -> None:
        """Raise ``Closing`` if ``close`` runs: background work stops at its next step."""
        if self._closing:
            raise Closing()

    def warm(self, db: Database) -> Future:
        """Fit every network in the background, smallest first (the largest last), so the
        service answers for most networks at once after a start."""

        with self._guard:
            opened = self._closings

        def work() -> None:
            try:
                for nid, _ in network_sizes(db):
                    with self._guard:
                        if self._closings != opened:
                            return  # closed meanwhile: its fits would go on in new executors
                    self._refit(db, nid, self._slot(nid)).result()
            except Exception:  # the service still starts: requests fit what they need
                with self._guard:
                    if self._closings != opened:
                        return  # (its fit was stopped or cancelled by ``close``)
                log.exception("warm start stopped")

        warm = self._executor("warm").submit(work)
        with self._guard:
            self._warm = warm
        return warm

    def forget(self, nid: str) -> None:
        """Drop the matcher of a deleted network (other processes find it gone by its version:
        a re-created network starts at a version none of theirs holds)."""
        with self._guard:
            self._slots.pop(nid, None)

    def status(self) -> dict[str, int]:
        """How many networks have a matcher, how many are being fitted, and whether the
        start-up fits still run (1) or are done (0): "no fit running" alone is also true before
        the first of them starts and between two of them."""
        with self._guard:
            slots, warm = list(self._slots.values()), self._warm
        return {"ready": sum(s.matcher is not None for s in slots),
                "fitting": sum(s.fit is not None and not s.fit.done() for s in slots),
                "warming": int(warm is not None and not warm.done())}

    def close(self) -> None:
        """Stop the background work (fits, catch-ups, retrainings, the warm start) and wait for
        what runs to end, so that the database can be closed after it: a fit or catch-up still
        reading while the driver closed its connections broke them mid-message (the driver
        raised ``BufferError`` at its close; a service stopped by SIGINT the same). Queued work
        is dropped; a fit stops at its next step. The engine may be used again afterwards (an
        app's lifespan may be entered more than once)."""
        with self._guard:
            self._closings += 1
            self._closing = True
            executors, self._executors = self._executors, {}
            following, self._following = self._following, []
            trainer, self._trainer = self._trainer, retraining.Trainer()  # (for a next lifespan)
            for slot in self._slots.values():
                if slot.retrain_later is not None:
                    slot.retrain_later.cancel()
                    slot.retrain_later = None
        try:
            for db, written in following:
                committed_changes(db).unsubscribe(written)
            trainer.close()  # its worker ends now, even in the middle of a training
            for executor in executors.values():  # what waits to run, runs no more
                executor.shutdown(wait=False, cancel_futures=True)
            for executor in executors.values():  # (a warm start waits for its fit: both end)
                executor.shutdown(wait=True)
        finally:
            with self._guard:
                self._closing = False
