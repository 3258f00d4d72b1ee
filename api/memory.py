"""The garbage collector's policy for a long-running service process.

CPython's cycle collector stops every thread while it walks a generation. A fitted matcher of a
10,000-member network holds about 100,000 container objects (the ties graph's dicts, a set or a
list per member) and the imported modules another 110,000; they live until the next full fit,
yet every full (generation 2) collection walked them again: 15-21 pauses of 50-780 ms in a
100 s run of ``benchmarks/live.py``'s database part, the tails of "suggestion after an edit".

The policy: at start-up (``tune``) what the imports left is frozen: moved to the permanent
generation (``gc.freeze``), which collections skip; while a matcher is fitted on a background
thread (``fitting``) no collection runs; after it is installed (``after_fit``, on the fitting
thread, never a request's) and its network is large, what is alive is frozen again. Frozen
objects are never cycle-collected, only freed by reference counting, and a replaced matcher
is not free of cycles (networkx caches views that point back at their graph): so each
``after_fit`` first unfreezes and collects everything once, which frees the previous matcher,
then freezes again. That one full collection replaces the four or five that the fit's
allocations would have set off while it ran.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator

from matching.scoring import PartnerMatcher

# Networks smaller than this are cheap to walk: no collection is forced after their fit (a test
# process fits hundreds of them, and each forced collection would walk its whole heap).
FREEZE_MEMBERS = 2_000

log = logging.getLogger("partnermatch.memory")
_lock = threading.Lock()
_tuned = False
_fits = 0  # fits running now (``fitting``)
_was_enabled = True


def tune() -> None:
    """Once per process, when the service starts: freeze what the imports left (modules,
    classes, functions live as long as the process). The young generations' thresholds stay
    as they are: raised to 5,000 or 20,000 they gave fewer but longer young pauses (measured,
    docs/benchmarks.md), and once the old objects are frozen the full collections that fewer
    promotions would have spared are cheap."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        gc.collect()
        gc.freeze()


@contextlib.contextmanager
def fitting() -> Iterator[None]:
    """Around a background fit: no automatic collection while it runs. A fit allocates its
    whole matcher (about 100,000 containers at 10,000 members), which otherwise sets off four or
    five full collections of the growing heap, each stopping every request; what requests
    leave meanwhile is freed by reference counting, and their few cycles wait for the one
    collection of ``after_fit``, which belongs inside this block: after it, the first young
    collection would otherwise walk everything the fit allocated (0.3 s measured at 10k)."""
    global _fits, _was_enabled
    with _lock:
        _fits += 1
        if _fits == 1:
            _was_enabled = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _fits -= 1
            if _fits == 0 and _was_enabled:
                gc.enable()


def after_fit(matcher: PartnerMatcher) -> float:
    """Call once ``matcher`` is installed in place of its network's previous one: collect what
    the replacement left (cycles included) and freeze what is alive, if the network is large.
    Returns the seconds the collection held the interpreter (0.0 when skipped)."""
    if len(matcher.projection_.member_ids) < FREEZE_MEMBERS:
        return 0.0
    return refreeze()


def refreeze() -> float:
    """Unfreeze, collect everything once and freeze what survived; returns the seconds taken."""
    with _lock:
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        spent = time.perf_counter() - started
    log.info("collected and froze %d objects in %.0f ms", gc.get_freeze_count(), spent * 1000)
    return spent
