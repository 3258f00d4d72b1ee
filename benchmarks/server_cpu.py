"""The database server's CPU per write: member edits and decisions at 10k members, from a fresh
server start, round after round, split by the server's kind of thread.

    python benchmarks/server_cpu.py --members 10000 --writes 200 --rounds 6

One synthetic network imported into a fresh local database; then rounds of ``--writes`` member
edits (``put_member``, one level and one urgency changed, as benchmarks/live.py) and as many
decisions (``record_feedback`` on random pairs), with this process following its writes as
``serve`` does (each write reads back the state it left). Per round and kind of write: wall
p50 / p95, the server's CPU per write (every thread's time on a CPU, from
``/proc/<pid>/task/*/schedstat``) split into the Bolt threads that run the statements and
commits, the JIT compiler threads, the garbage collector and the rest, and this process's CPU.
``--statements`` adds each statement's share of the Bolt threads' CPU (its result read whole
before the next one is sent, so it costs a little wall time).

The first rounds are the server warming up: its JIT compiles ArcadeDB while the writes run.
``PARTNERMATCH_JAVA_OPTIONS`` compares JVM settings (``-XX:TieredStopAtLevel=4``: the
optimising compiler, which graph/local_server.py leaves out).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic  # noqa: E402
from benchmarks.live import _edited  # noqa: E402
from benchmarks.report import finish  # noqa: E402


def thread_cpu(pid: int) -> dict[str, float]:
    """The server's CPU seconds so far by kind of thread: bolt (statements and commits), jit,
    gc and other."""
    used: collections.Counter[str] = collections.Counter()
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir():
        try:
            name = (task / "comm").read_text().strip()
            seconds = int((task / "schedstat").read_text().split()[0]) / 1e9
        except OSError:  # the thread ended meanwhile
            continue
        kind = ("bolt" if name.startswith("BOLT-") else "jit" if "Compiler" in name
                else "gc" if name.startswith(("GC ", "G1 ", "VM Thread")) else "other")
        used[kind] += seconds
    return dict(used)


class StatementMeter:
    """Each statement's (and commit's) share of the Bolt threads' CPU, by its name in
    graph/queries.py."""

    def __init__(self, pid: int):
        from graph import queries as q

        self.pid = pid
        self.names = {v: k for k, v in vars(q).items() if isinstance(v, str) and k.isupper()}
        self.cpu: collections.Counter[str] = collections.Counter()
        self.count: collections.Counter[str] = collections.Counter()

    def bolt(self) -> float:
        return thread_cpu(self.pid).get("bolt", 0.0)

    def install(self) -> None:
        from neo4j._sync.work.transaction import TransactionBase

        meter, run, commit = self, TransactionBase.run, TransactionBase._commit

        def timed(name: str, call: Callable[[], Any]) -> Any:
            before = meter.bolt()
            out = call()
            meter.cpu[name] += meter.bolt() - before
            meter.count[name] += 1
            return out

        def timed_run(tx: Any, query: str, parameters: Any = None, **kwargs: Any) -> Any:
            def whole() -> Any:
                result = run(tx, query, parameters, **kwargs)
                result._buffer_all()  # the statement's whole answer, before the next one
                return result
            return timed(meter.names.get(query, query.strip().splitlines()[0][:40]), whole)

        TransactionBase.run = timed_run  # type: ignore[method-assign]
        TransactionBase._commit = lambda tx: timed("COMMIT", lambda: commit(tx))  # type: ignore

    def take(self, writes: int) -> dict[str, dict[str, float]]:
        out = {name: {"per_write": self.count[name] / writes,
                      "bolt_cpu_ms": round(self.cpu[name] / writes * 1000, 2)}
               for name in sorted(self.cpu, key=lambda k: -self.cpu[k])}
        self.cpu.clear()
        self.count.clear()
        return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000, 2)


def _round(write: Callable[[], None], writes: int, pid: int) -> dict[str, Any]:
    walls = []
    before, ours = thread_cpu(pid), time.process_time()
    for _ in range(writes):
        started = time.perf_counter()
        write()
        walls.append(time.perf_counter() - started)
    after = thread_cpu(pid)
    per_write = {kind: round((after.get(kind, 0) - before.get(kind, 0)) / writes * 1000, 2)
                 for kind in ("bolt", "jit", "gc", "other")}
    return {"wall_p50_ms": _pct(walls, 50), "wall_p95_ms": _pct(walls, 95),
            "server_cpu_ms": round(sum(per_write.values()), 2), "by_thread_ms": per_write,
            "client_cpu_ms": round((time.process_time() - ours) / writes * 1000, 2),
            "load": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=200, help="of each kind, per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--statements", action="store_true",
                        help="each statement's share of the Bolt threads' CPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    from graph.changes import committed_changes
    from graph.database import open_database
    from graph.feedback import record_feedback
    from graph.local_server import LocalServer
    from graph.members import put_member
    from graph.settings import DatabaseSettings
    from graph.store import import_network

    nid = f"cpu-{args.members}"
    doc = synthetic.generate(args.members, args.seed, nid=nid)
    members = {m["id"]: m for m in doc["members"]}
    ids = sorted(members)
    rng = random.Random(args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-cpu-"))
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
    results: dict[str, Any] = {
        "members": args.members, "writes_per_round": args.writes,
        "java_options": os.environ.get("PARTNERMATCH_JAVA_OPTIONS", ""),
        "load_start": os.getloadavg(), "rounds": []}
    try:
        with open_database(settings) as db:
            info = LocalServer(data_dir).status()
            assert info is not None
            started = time.perf_counter()
            import_network(db, doc)
            results["import_s"] = round(time.perf_counter() - started, 2)
            results["server_cpu_after_import"] = thread_cpu(info.pid)
            committed_changes(db).subscribe(lambda written: None)  # as ``serve`` follows
            meter = StatementMeter(info.pid)
            if args.statements:
                meter.install()

            def edit() -> None:
                mid = rng.choice(ids)
                members[mid] = _edited(members[mid], rng)
                put_member(db, nid, mid, {k: v for k, v in members[mid].items() if k != "id"})

            def decide() -> None:
                member, candidate = rng.sample(ids, 2)
                record_feedback(db, nid, member, candidate, rng.choice(["declined", "accepted"]))

            for k in range(args.rounds):
                row: dict[str, Any] = {}
                for kind, write in (("member_edit", edit), ("decision", decide)):
                    row[kind] = _round(write, args.writes, info.pid)
                    if args.statements:
                        row[kind]["statements"] = meter.take(args.writes)
                    print(f"round {k + 1} {kind}: {json.dumps(row[kind])}", file=sys.stderr,
                          flush=True)
                results["rounds"].append(row)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return finish(results, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
