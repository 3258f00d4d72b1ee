"""Turns: writes to one record one after the other; and the versions they leave, on a board.

Every write to a network bumps the network's version (``graph.changes``). On Neo4j the second of
two such writes waits for the first one's lock; on ArcadeDB (optimistic) both run and the second
conflicts at commit and runs again whole. A write therefore takes the record's *turn* right
before it bumps the version (its last statement) and holds it until its transaction ends, so
writes queue for the bump and the commit only, as on Neo4j, instead of wasting whole attempts:
the writes of this process (a lock per key) and those of every process that uses the same local
server (a lock file per key in the server's data directory, as ``serve --workers N`` does).
Writes through a remote server from other hosts are not queued: they conflict and are retried.

The lock file also holds the *board*: the version the last write left on the key, written after
that write committed and before its turn passes on. Every writer to the local server takes the
turn before it bumps a version, so a known version on the board is the committed one, and a
request reads it there instead of asking the database (``board_versions``): one round trip fewer
per request. From the moment a write holding the turn sends its commit until its turn passes
on, the commit may land at any instant: the entry then says *committing* with the version
before, and a request reads that version. Such a request is concurrent with the write, which
has not answered anyone yet (its answer comes after the board is written), so it may be served
without it; a request that starts after the write answered finds the write's version. The mark
holds for ``COMMIT_HOLD`` seconds: a write whose process died while committing, or whose commit
failed with its outcome unknown, leaves it behind, and after that the version is unknown. A
version nobody has written since the board was created (or whose mark has run out) is unknown:
the reader asks the database and, if no write holds the turn meanwhile, puts the answer on the
board for the next ones (``seed_board``). Each
entry names the server run it was written under (``Board.epoch``): after the server restarts,
whatever the reason, older entries are unknown.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("partnermatch.turns")
TURN_WAIT = 5.0  # seconds a write waits for its turn before it gives up (DatabaseBusy)
# A board entry: K (known) or C (committing), the version (20 digits; while committing, the one
# before), the server run (10), until when a committing mark holds (15, milliseconds of the
# system's monotonic clock, which every process of the host shares; 0 if known) and a checksum (10).
_RECORD = 56
_UNKNOWN = b"-" * _RECORD
# How long a committing mark stands for the version before it. Commits take milliseconds; one
# taking longer only sends requests to the database meanwhile, as an unknown version does.
COMMIT_HOLD = 1.0


@dataclass(frozen=True)
class Board:
    """The turns and board of the processes using one local server: its directory, and the
    server run the entries are valid for (its process id and start time)."""

    directory: Path
    epoch: int

    @staticmethod
    def of(directory: Path, server_pid: int, started_at: float) -> Board:
        return Board(directory, zlib.crc32(f"{server_pid}:{started_at!r}".encode()))

_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
_files: dict[tuple[int, str, Path], int] = {}  # (process id, key, directory): its lock file
# The board entries this process reads, mapped: a read of a mapped page keeps the interpreter
# lock, where ``os.pread`` gives it up for the system call and, with 8 threads scoring, waits
# 13-45 ms at the p95 to get it back (h3, docs/benchmarks.md). Mapped once its file holds an
# entry; an entry file never shrinks after that (``_forget``), so a read never faults past its end.
_maps: dict[tuple[int, str, Path], mmap.mmap] = {}
_attempt = threading.local()  # the turns held by this thread's running write attempt


class TurnTimeout(RuntimeError):
    """Another write held the turn longer than ``TURN_WAIT`` seconds."""


class _Turn:
    """One held turn: this process's lock on the key and, with a board, the lock file that
    every process using the local server shares; the version the write leaves, once known."""

    def __init__(self, thread_lock: threading.Lock, fd: int | None, epoch: int | None):
        self.thread_lock, self.fd, self.epoch = thread_lock, fd, epoch
        self.version: int | None = None

    def release(self, committed: bool) -> None:
        try:
            if self.fd is not None:
                if committed and self.version is not None and self.epoch is not None:
                    # (It overwrites the committing mark's own bytes, which needs no new
                    # block; if it still fails, the mark stands until it runs out.)
                    with contextlib.suppress(OSError):
                        os.pwrite(self.fd, _entry(self.version, self.epoch), 0)
                elif committed:  # (no version left, as when the network is deleted: the
                    with contextlib.suppress(OSError):  # committing mark must not stand)
                        _forget(self.fd)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


def _entry(version: int, epoch: int, until: int = 0) -> bytes:
    """A known entry, or with ``until`` (``_now``) a committing mark on ``version``."""
    body = (b"C" if until else b"K") + f"{version:020d}{epoch:010d}{until:015d}".encode()
    return body + f"{zlib.crc32(body):010d}".encode()


def _now() -> int:
    return time.monotonic_ns() // 1_000_000


def _read(entry: bytes, epoch: int) -> tuple[int, int] | None:
    """A board entry written under ``epoch``: its version and until when a committing mark
    holds (0: known); None if unknown, of another server run, or torn (read while written)."""
    if len(entry) != _RECORD or entry == _UNKNOWN:
        return None
    body, check = entry[:46], entry[46:]
    digits = body[1:]
    if body[:1] not in (b"K", b"C") or not (digits.isdigit() and check.isdigit()) \
            or zlib.crc32(body) != int(check) or int(digits[20:30]) != epoch:
        return None
    until = int(digits[30:])
    if (until == 0) != (body[:1] == b"K"):
        return None
    return int(digits[:20]), until


def _parse(entry: bytes, epoch: int) -> int | None:
    """The version a request reads from a board entry (a committing mark: the version before
    the commit, until the mark runs out); None if it must ask the database."""
    found = _read(entry, epoch)
    if found is None or (found[1] and _now() >= found[1]):
        return None
    return found[0]


def _thread_lock(key: str) -> threading.Lock:
    with _guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _file(directory: Path, key: str, *, create: bool) -> int | None:
    """This process's descriptor of ``key``'s lock file (opened once per process: a forked
    child shares its parent's descriptors, and a lock held through a shared one excludes
    neither); None if it does not exist and ``create`` is false."""
    slot = (os.getpid(), key, directory)
    with _guard:
        fd = _files.get(slot)
        if fd is not None:
            return fd
        name = directory / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")
        try:
            if create:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
            else:
                fd = os.open(name, os.O_RDWR)
        except OSError:  # none yet, or a full disk: no entry, which readers take as unknown
            return None
        _files[slot] = fd
        return fd


def _lock_file(fd: int, deadline: float | None) -> bool:
    """Take the lock file ``fd``, polling until ``deadline`` (``flock`` cannot time out; the
    first retry after 0.2 ms, the pause growing to 5 ms); at once or not at all without one."""
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if deadline is None or time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.005)


@contextmanager
def write_attempt(board: Board | None) -> Iterator[Callable[[], None]]:
    """One write transaction's attempt: the turns it takes are released when it ends, the board
    written for them only if the caller calls the yielded ``committed()`` first."""
    outer = (getattr(_attempt, "held", None), getattr(_attempt, "board", None),
             getattr(_attempt, "after", None))
    _attempt.held, _attempt.board, _attempt.after = {}, board, []
    done = [False]

    def committed() -> None:
        done[0] = True

    try:
        yield committed
    finally:
        held, after = _attempt.held, _attempt.after
        _attempt.held, _attempt.board, _attempt.after = outer
        for turn in held.values():
            turn.release(done[0])
        for work in after:
            try:
                work()
            except Exception:  # (the write stands: what ``work`` was for is the caller's)
                log.exception("work after a write's turns failed")


def after_turns(work: Callable[[], None]) -> None:
    """Run ``work`` once the calling write attempt has released its turns (and written the
    board), or now outside one: work that follows a commit and must not hold the next write to
    the network back (the engine applies the write to its matcher there)."""
    after = getattr(_attempt, "after", None)
    if after is None:
        work()
    else:
        after.append(work)


@contextmanager
def no_turns() -> Iterator[None]:
    """A read run inside a write's work takes no turns of its own."""
    outer = getattr(_attempt, "held", None)
    _attempt.held = None
    try:
        yield
    finally:
        _attempt.held = outer


def wait_turn(key: str) -> None:
    """Wait until no other write holds the turn ``key``, then hold it until the calling write
    transaction ends. Call it right before the write's last statement: nothing else may be
    locked after it in the transaction, so no turn waits on a lock held by a transaction waiting
    for the turn. Raises ``TurnTimeout`` after ``TURN_WAIT`` seconds (going ahead could leave a
    wrong version on the board). Outside a ``Database`` write it does nothing."""
    held = getattr(_attempt, "held", None)
    if held is None or key in held:
        return
    deadline = time.monotonic() + TURN_WAIT
    thread_lock = _thread_lock(key)
    if not thread_lock.acquire(timeout=TURN_WAIT):
        raise TurnTimeout(key)
    board: Board | None = getattr(_attempt, "board", None)
    fd = None
    if board is not None:
        fd = _file(board.directory, key, create=True)  # (None: a full disk, and no entry)
    if fd is not None and not _lock_file(fd, deadline):
        thread_lock.release()
        raise TurnTimeout(key)
    # The entry stays as it is: until this write sends its commit (``committing``) nothing it
    # did can be committed, so a known entry is still the committed version.
    held[key] = _Turn(thread_lock, fd, None if board is None else board.epoch)


def committing() -> None:
    """The calling write attempt is about to send its commit: the entries of the turns it holds
    say *committing* from now until its turns pass on (the commit may land at any moment), with
    the version before, which requests read meanwhile (see the module's docstring); an entry
    that was not known becomes unknown. Raises ``OSError`` if an entry cannot be marked: the
    write must then not commit (the entries left are still the committed versions).

    Before, the entries became unknown here, and every request meanwhile asked the database:
    about a third of the reads under the mixed load at 10k, 9 ms each (commits take 6-7 ms)."""
    held = getattr(_attempt, "held", None)
    for turn in (held or {}).values():
        if turn.fd is not None:
            _mark_committing(turn.fd, turn.epoch)


def _mark_committing(fd: int, epoch: int | None) -> None:
    """Mark the entry committing on the version it holds, if known; unknown otherwise (a mark
    left behind by a commit whose outcome is unknown is no known version)."""
    found = _read(os.pread(fd, _RECORD, 0), epoch) if epoch is not None else None
    if found is None or found[1]:
        _forget(fd)
        return
    mark = _entry(found[0], epoch, _now() + max(1, int(COMMIT_HOLD * 1000)))
    try:
        os.pwrite(fd, mark, 0)
    except OSError:
        if os.fstat(fd).st_size >= _RECORD:
            raise


def _forget(fd: int) -> None:
    """Make the entry unknown. On a full disk a new file has no block for it, but an empty file
    is unknown already; a file holding an entry is never emptied instead, since other processes
    may read it mapped (``_mapped``): the ``OSError`` then keeps the write from committing."""
    try:
        os.pwrite(fd, _UNKNOWN, 0)
    except OSError:
        if os.fstat(fd).st_size >= _RECORD:
            raise


def note_version(key: str, version: int) -> None:
    """The version this write leaves on ``key`` (whose turn it holds), for the board."""
    held = getattr(_attempt, "held", None)
    if held is not None and key in held:
        held[key].version = version


def board_versions(board: Board, keys: list[str]) -> list[int] | None:
    """The committed versions of ``keys`` from the board; None unless every one is known."""
    found = []
    for key in keys:
        fd = _file(board.directory, key, create=False)
        if fd is None:
            return None
        entry = _mapped(board.directory, key, fd)
        version = _parse(entry[:_RECORD] if entry is not None else b"", board.epoch)
        if version is None:
            return None
        found.append(version)
    return found


def _mapped(directory: Path, key: str, fd: int) -> mmap.mmap | None:
    """This process's read-only map of ``key``'s entry; None while its file holds none yet."""
    slot = (os.getpid(), key, directory)
    entry = _maps.get(slot)
    if entry is not None:
        return entry
    if os.fstat(fd).st_size < _RECORD:  # (a new file: its first entry is not written yet)
        return None
    entry = mmap.mmap(fd, _RECORD, prot=mmap.PROT_READ)
    with _guard:
        return _maps.setdefault(slot, entry)


def seed_board(board: Board, keys: list[str], read: Callable[[], list[int]]) -> None:
    """Put the versions ``read()`` returns for ``keys`` on the board, if no write holds any of
    their turns now (none is waited for): with every turn held, ``read`` sees the committed
    versions and no write can change them before they are written."""
    taken: list[_Turn] = []
    committed = False
    try:
        for key in keys:
            thread_lock = _thread_lock(key)
            if not thread_lock.acquire(blocking=False):
                return
            fd = _file(board.directory, key, create=True)
            if fd is None or not _lock_file(fd, None):
                thread_lock.release()
                return
            taken.append(_Turn(thread_lock, fd, board.epoch))
        for turn, version in zip(taken, read(), strict=True):
            turn.version = version
        committed = True
    finally:
        for turn in taken:
            turn.release(committed)
