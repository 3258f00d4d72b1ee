"""Where a write's time goes: each statement of ``put_member`` and ``record_feedback``, alone and
with concurrent writers, with the attempts (conflicts retried by ``graph.database``) counted.

    python benchmarks/writes.py --members 10000 --writers 1 8 --seconds 15

One synthetic network in a fresh local database. Every transaction the repository functions
run is timed statement by statement (from ``run`` to its result being consumed) and at its
commit; a write that conflicts at commit is run again by ``Database``, and each attempt is
recorded with its outcome (the error code of a conflict). What a write spends outside its
attempts is the reads before and after it and the backoff sleeps between attempts.

    python benchmarks/writes.py --writers --alone 0 --mixed 8 --write-share 0.2

runs benchmarks/live.py's mixed load (clients that read, through ``api.engine.Engine``, or
write with the given probability) after a read-only run of as many clients, and splits each
read into the version check, the catch-up (reading the change log, applying it), the
suggestion itself and the rest: waiting for a catch-up another request runs, for the matcher's
lock or for the interpreter.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic
from benchmarks.live import _edited  # noqa: E402
from benchmarks.report import finish  # noqa: E402


def _pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ms = np.asarray(values) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "max_ms": round(float(ms.max()), 2), "n": len(values)}


def _statement_names() -> dict[str, str]:
    from graph import queries as q

    names = {}
    for name, value in vars(q).items():
        if isinstance(value, str) and name.isupper():
            names[value] = name
        elif isinstance(value, dict) and name.isupper():
            names.update({v: f"{name}[{k}]" for k, v in value.items() if isinstance(v, str)})
    return names


class _Recorder:
    """What every transaction of this thread did: attempts, statements, commits."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.attempts: list[dict[str, Any]] = []
        self.names = _statement_names()

    def current(self) -> list[dict[str, Any]] | None:
        return getattr(self.local, "attempts", None)


class _TimedResult:
    def __init__(self, result: Any, on_done: Any):
        self._result, self._on_done = result, on_done

    def _done(self, value: Any) -> Any:
        self._on_done()
        return value

    def consume(self) -> Any:
        return self._done(self._result.consume())

    def single(self, *args: Any, **kwargs: Any) -> Any:
        return self._done(self._result.single(*args, **kwargs))

    def data(self, *args: Any) -> Any:
        return self._done(self._result.data(*args))

    def __iter__(self) -> Any:
        rows = list(self._result)
        self._on_done()
        return iter(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


class _TimedTx:
    def __init__(self, tx: Any, attempt: dict[str, Any], names: dict[str, str]):
        self._tx, self._attempt, self._names = tx, attempt, names

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        name = self._names.get(query, query.strip().split("\n")[0][:40])
        started = time.perf_counter()
        result = self._tx.run(query, parameters, **kwargs)

        def done() -> None:
            self._attempt["statements"].append((name, time.perf_counter() - started))

        return _TimedResult(result, done)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def instrument(db: Any, recorder: _Recorder) -> None:
    """Wrap ``db._attempt`` so that each attempt's statements are timed, and what follows the
    work: the state read for this process's own matchers (``graph.changes.CommittedChanges``,
    when an engine follows the database) and the commit."""
    from neo4j.exceptions import Neo4jError

    attempt_once = db._attempt

    def attempt(mode: str, work: Any, args: tuple) -> Any:
        record: dict[str, Any] = {"mode": mode, "statements": [], "outcome": "ok",
                                  "started": time.perf_counter()}
        sink = recorder.current()
        if sink is not None:
            sink.append(record)

        def timed(tx: Any, *work_args: Any) -> Any:
            record["begin"] = time.perf_counter() - record["started"]
            try:
                return work(_TimedTx(tx, record, recorder.names), *work_args)
            finally:
                record["work_ended"] = time.perf_counter()

        try:
            return attempt_once(mode, timed, args)
        except Neo4jError as exc:
            record["outcome"] = exc.code or type(exc).__name__
            raise
        except Exception as exc:
            record["outcome"] = type(exc).__name__
            raise
        finally:
            ended = time.perf_counter()
            record["total"] = ended - record["started"]
            record["commit"] = ended - record.get("work_ended", ended)

    db._attempt = attempt


def _write(kind: str, db: Any, nid: str, members: dict[str, Any], ids: list[str],
           rng: random.Random) -> None:
    from graph.feedback import record_feedback
    from graph.members import put_member

    mid = rng.choice(ids)
    if kind == "put_member":
        body = {k: v for k, v in _edited(members[mid], rng).items() if k != "id"}
        put_member(db, nid, mid, body)
    else:
        other = rng.choice([i for i in ids[:50] if i != mid])
        record_feedback(db, nid, mid, other, rng.choice(("accepted", "declined")))


def _summary(writes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind: latency, attempts, conflicts by code, per-statement times of successful write
    attempts, time outside the write attempts (reads + backoff)."""
    out: dict[str, Any] = {}
    for kind in sorted({w["kind"] for w in writes}):
        mine = [w for w in writes if w["kind"] == kind]
        write_attempts = [[a for a in w["attempts"] if a["mode"] == "WRITE"] for w in mine]
        reads = [[a for a in w["attempts"] if a["mode"] != "WRITE"] for w in mine]
        outcomes = collections.Counter(a["outcome"] for ws in write_attempts for a in ws)
        per_statement: dict[str, list[float]] = collections.defaultdict(list)
        for ws in write_attempts:
            for a in ws:
                if a["outcome"] == "ok":
                    for name, seconds in a["statements"]:
                        per_statement[name].append(seconds)
                    per_statement["(after work: state read, commit)"].append(a["commit"])
                    per_statement["(session, begin)"].append(a.get("begin", 0.0))
                    per_statement["(attempt total)"].append(a["total"])
        for rs in reads:
            for a in rs:
                for name, seconds in a["statements"]:
                    per_statement["read " + name].append(seconds)
        failed = [a["total"] for ws in write_attempts for a in ws if a["outcome"] != "ok"]
        in_attempts = [sum(a["total"] for a in ws) for ws in write_attempts]
        in_reads = [sum(a["total"] for a in rs) for rs in reads]
        outside = [w["total"] - wa - r for w, wa, r in zip(mine, in_attempts, in_reads)]
        out[kind] = {
            "latency": _pct([w["total"] for w in mine]),
            "attempts_per_write": dict(sorted(collections.Counter(
                len(ws) for ws in write_attempts).items())),
            "attempt_outcomes": dict(outcomes),
            "failed_attempt": _pct(failed),
            "reads_around_write": _pct(in_reads),
            "read_transactions_per_write": float(np.mean([len(rs) for rs in reads])),
            "backoff_and_other": _pct(outside),
            "statements": {name: _pct(v) for name, v in per_statement.items()},
            "errors": dict(collections.Counter(w["error"] for w in mine if w["error"])),
        }
    return out


class _ReadParts:
    """Where a reader's time goes inside ``Engine.reading``: the version check, the catch-up's
    read of the change log, applying it; the rest is waiting (for the catch-up another request
    runs, for the matcher's write lock, for the interpreter). Wraps the engine module's names
    from outside, for this benchmark only."""

    def __init__(self) -> None:
        import api.engine as engine_module

        self.local = threading.local()
        self.catchups: list[float] = []
        self.applies: list[float] = []
        self.changes_per_catchup: list[int] = []
        for name, sink in (("versions", None), ("read_changes", self.catchups),
                           ("_apply", self.applies)):
            setattr(engine_module, name, self._timed(getattr(engine_module, name), name, sink))

    def _timed(self, fn: Any, name: str, sink: list[float] | None) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                parts = getattr(self.local, "parts", None)
                if parts is not None:
                    parts[name] = parts.get(name, 0.0) + spent
                if sink is not None:
                    sink.append(spent)
            if name == "read_changes":
                self.changes_per_catchup.append(len(result.changes))
            return result

        return timed


def run_writers(db: Any, recorder: _Recorder, nid: str, members: dict[str, Any],
                ids: list[str], writers: int, seconds: float, count: int | None = None,
                readers: int = 0, engine: Any = None, parts: _ReadParts | None = None,
                mixed: int = 0, write_share: float = 0.2) -> dict[str, Any]:
    """``writers`` threads alternating put_member and record_feedback for ``seconds`` (or
    ``count`` writes each); ``readers`` threads asking the engine for suggestions meanwhile;
    ``mixed`` threads that each write with probability ``write_share`` (a member edit or a
    decision, as likely) and read otherwise, as benchmarks/live.py's mixed load does."""
    from graph.database import DatabaseUnavailable
    from matching.features import View

    writes: list[dict[str, Any]] = []
    reads: list[float] = []
    split: dict[str, list[float]] = collections.defaultdict(list)
    stop = time.perf_counter() + seconds

    def write(kind: str, rng: random.Random) -> None:
        recorder.local.attempts = attempts = []
        t = time.perf_counter()
        error = None
        try:
            _write(kind, db, nid, members, ids, rng)
        except DatabaseUnavailable as exc:  # counted, not raised: a 503 is a result here
            error = type(exc).__name__
        total = time.perf_counter() - t
        recorder.local.attempts = None
        with recorder.lock:
            writes.append({"kind": kind, "total": total, "attempts": attempts, "error": error})

    def read(rng: random.Random) -> None:
        if parts is not None:
            parts.local.parts = {}
        t = time.perf_counter()
        with engine.reading(db, nid) as m:
            held = time.perf_counter()
            m.suggest(rng.choice(ids), view=View.MEMBER)
        done = time.perf_counter()
        with recorder.lock:
            reads.append(done - t)
            if parts is not None:
                mine = parts.local.parts
                split["suggest"].append(done - held)
                for name in ("versions", "read_changes", "_apply"):
                    split[name].append(mine.get(name, 0.0))
                split["waiting"].append(held - t - sum(mine.values()))

    def writer(k: int) -> None:
        rng = random.Random(1000 + k)
        done = 0
        while time.perf_counter() < stop and (count is None or done < count):
            write(("put_member", "record_feedback")[(done + k) % 2], rng)
            done += 1

    def reader(k: int) -> None:
        rng = random.Random(k)
        while time.perf_counter() < stop:
            read(rng)

    def client(k: int) -> None:
        rng = random.Random(2000 + k)
        while time.perf_counter() < stop:
            if rng.random() < write_share:
                write(rng.choice(("put_member", "record_feedback")), rng)
            else:
                read(rng)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(readers)]
    threads += [threading.Thread(target=client, args=(k,)) for k in range(mixed)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    result = {"writers": writers, "readers": readers, "mixed": mixed,
              "seconds": round(elapsed, 1), "requests_per_s": round(
                  (len(reads) + len(writes)) / elapsed, 2),
              "writes_per_s": round(len(writes) / elapsed, 2), **_summary(writes)}
    if reads:
        result["reads"] = _pct(reads)
        result["reads_per_s"] = round(len(reads) / elapsed, 2)
        result["read_parts"] = {name: _pct(v) for name, v in split.items()}
    if parts is not None:
        result["catch_ups"] = {"read_changes": _pct(parts.catchups),
                               "apply": _pct(parts.applies),
                               "changes_per_catch_up": float(np.mean(parts.changes_per_catchup))
                               if parts.changes_per_catchup else 0.0}
        parts.catchups.clear()
        parts.applies.clear()
        parts.changes_per_catchup.clear()
    return result


def _use_turns(on: bool) -> None:
    """Whether the writes queue for their network's version in this process (``wait_turn``),
    or not (as before it existed): for a comparison in one run."""
    from graph import changes, turns

    changes.wait_turn = turns.wait_turn if on else (lambda key: None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--writers", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--readers", type=int, default=0,
                        help="reader threads beside the writers (the engine's suggestions)")
    parser.add_argument("--mixed", type=int, default=0,
                        help="then this many clients of reads and writes (--write-share), "
                             "after a read-only run of as many readers")
    parser.add_argument("--write-share", type=float, default=0.2)
    parser.add_argument("--turns", choices=("on", "off", "both"), default="on",
                        help="mixed runs with writes queueing for their network's version, "
                             "without, or both alternately")
    parser.add_argument("--alone", type=int, default=40, help="sequential writes, one thread")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    from api.engine import Engine
    from graph.database import open_database
    from graph.settings import DatabaseSettings
    from graph.store import import_network

    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-writes-"))
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
    nid = f"writes-{args.members}"
    doc = synthetic.generate(args.members, args.seed, nid=nid)
    members = {m["id"]: m for m in doc["members"]}
    ids = sorted(members)
    results: dict[str, Any] = {"members": args.members, "cpus": os.cpu_count(),
                               "load_start": os.getloadavg(), "runs": []}
    try:
        with open_database(settings) as db:
            import_network(db, doc)
            recorder = _Recorder()
            instrument(db, recorder)
            engine = parts = None
            if args.readers or args.mixed:
                parts = _ReadParts()
                engine = Engine()
                engine.follow(db)  # as the service does: its own writes are handed over
                engine.warm(db).result()
            if args.alone:
                print(f"{args.alone} writes, one at a time ...", file=sys.stderr, flush=True)
                run_writers(db, recorder, nid, members, ids, 1, 1e9, count=4)  # warm up
                results["alone"] = run_writers(db, recorder, nid, members, ids, 1, 1e9,
                                               count=args.alone)
            for writers in args.writers:
                print(f"{writers} writers, {args.readers} readers, {args.seconds:.0f} s ...",
                      file=sys.stderr, flush=True)
                results["runs"].append(run_writers(db, recorder, nid, members, ids, writers,
                                                   args.seconds, readers=args.readers,
                                                   engine=engine, parts=parts))
            if args.mixed:
                turns = {"on": [True], "off": [False], "both": [True, False, True, False]}
                for share, turn in [(0.0, True)] + [(args.write_share, t)
                                                     for t in turns[args.turns]]:
                    print(f"{args.mixed} clients, {share:.0%} writes, turns {turn}, "
                          f"{args.seconds:.0f} s ...", file=sys.stderr, flush=True)
                    _use_turns(turn)
                    run = run_writers(db, recorder, nid, members, ids, 0, args.seconds,
                                      engine=engine, parts=parts, mixed=args.mixed,
                                      write_share=share)
                    results["runs"].append({"turns": turn, **run})
                _use_turns(True)
            if engine is not None:
                engine.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return finish(results, args.json, indent=1)


if __name__ == "__main__":
    sys.exit(main())
