"""The live engine (issue 12): each write reflected in the next answer, beside the full refit.

Run through ``python benchmarks/bench.py --live`` (or this file directly). Two parts, each in
one process:

- *engine*: a synthetic network in memory; a member edit or a decision is applied with
  ``PartnerMatcher.apply_changes`` and the next suggestion computed; the naive way refits the
  whole matcher (projection + fit), as every write did before. Member edits are of two kinds,
  reported apart: values only (a level, an urgency) and columns (an offer added or removed and
  a description word changed: the rows change shape).
- *database*: the same network in a local database; writes go through the repository functions
  (``put_member``, ``record_feedback``), answers through ``api.engine.Engine`` (version check,
  change-log catch-up, suggestion): the code path of a request minus HTTP. Two engines on one
  database stand for two processes (they share nothing but the database): the writer's engine
  follows its own writes (``Engine.follow``, as ``serve`` does), the other reads the log. The naive way is the
  old request path: re-project the network and refit.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import gc
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic  # noqa: E402
from benchmarks.report import finish  # noqa: E402


def _pct(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()), "n": len(values)}


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _edited(member: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The member with one capability's level and one need's urgency changed."""
    member = copy.deepcopy(member)
    for key, field in (("capabilities", "level"), ("needs", "urgency")):
        if member.get(key):
            entry = rng.choice(member[key])
            entry[field] = 1 + (entry[field] % 5)
    return member


def _edited_columns(member: dict[str, Any], rng: random.Random, capabilities: list[dict[str, Any]]
                    ) -> dict[str, Any]:
    """The member with a capability added or removed (its rows change columns, not only
    values) and a word of its description replaced by a capability's label word."""
    member = copy.deepcopy(member)
    offers = member.setdefault("capabilities", [])
    held = {c["id"] for c in offers}
    if offers and rng.random() < 0.5:
        offers.pop(rng.randrange(len(offers)))
    else:
        other = rng.choice([c for c in capabilities if c["id"] not in held])
        offers.append({"id": other["id"], "level": rng.randint(1, 5)})
    words = (member.get("description") or "").split() or ["works"]
    words[rng.randrange(len(words))] = rng.choice(capabilities)["label"].split()[0].lower()
    member["description"] = " ".join(words)
    return member


def _matcher_rss_mb(matcher: Any) -> dict[str, float]:
    """The matcher's own footprint: RSS of a fresh process holding only it (unpickled), beside
    that process's RSS before loading it. RSS in the benchmark's process is no measure of it:
    memory freed by the generated document stays with the process, interleaved with the
    matcher's objects."""
    import pickle
    import subprocess

    code = ("import gc, pickle, sys; sys.path.insert(0, sys.argv[2]); import matching.scoring\n"
            "def rss():\n"
            "    return [int(l.split()[1]) / 1024 for l in open('/proc/self/status')\n"
            "            if l.startswith('VmRSS:')][0]\n"
            "base = rss(); m = pickle.load(open(sys.argv[1], 'rb')); gc.collect()\n"
            "print(base, rss())")
    with tempfile.NamedTemporaryFile(suffix=".pkl") as file:
        pickle.dump(matcher, file, protocol=pickle.HIGHEST_PROTOCOL)
        file.flush()
        done = subprocess.run([sys.executable, "-c", code, file.name,
                               str(Path(__file__).resolve().parent.parent)],
                              capture_output=True, text=True, check=True)
    base, held = map(float, done.stdout.split())
    return {"rss_mb": held, "interpreter_and_libraries_mb": base}


# -- engine, in memory ----------------------------------------------------------------------
def engine_part(n: int, seed: int, writes: int, refits: int, matcher_memory: bool = True
                ) -> dict[str, Any]:
    from matching.features import View
    from matching.projection import build_projection
    from matching.scoring import PartnerMatcher

    doc = synthetic.generate(n, seed)
    ids = sorted(m["id"] for m in doc["members"])
    rng = random.Random(seed)
    out: dict[str, Any] = {"members": n}

    def fit() -> PartnerMatcher:
        projection = build_projection(doc["network"], doc["capabilities"], doc["members"],
                                      doc["ties"])
        return PartnerMatcher().fit(projection)

    times, cpu = [], []
    matcher = None
    for _ in range(refits):
        matcher = None  # the previous fit is dropped first, as a refit replaces it
        gc.collect()
        t, c = time.perf_counter(), time.thread_time()
        matcher = fit()
        matcher.suggest(rng.choice(ids), view=View.MEMBER)
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    out["refit_then_suggest"] = _pct(times)
    out["refit_then_suggest_cpu"] = _pct(cpu)
    out["rss_after_fit_mb"] = _rss_mb()
    # The generated document (about half a gigabyte at 100k members, which a service never
    # holds) is dropped; the members to edit are kept as JSON text. The process keeps most of
    # the memory freed (see ``_matcher_rss_mb``).
    members = {m["id"]: json.dumps(m) for m in doc["members"]}
    capabilities = [{"id": c["id"], "label": c.get("label") or c["id"]}
                    for c in doc["capabilities"]]
    del doc
    gc.collect()
    out["rss_document_dropped_mb"] = _rss_mb()

    # Per kind of edit: wall time and CPU of the edit and the next suggestion, and the CPU of
    # the edit alone (the write lock's share). Edits of columns (an offer added or removed, a
    # new description) cannot be written over the old values in place.
    timed: dict[str, dict[str, list[float]]] = {
        kind: {"then_suggest": [], "then_suggest_cpu": [], "apply_cpu": []}
        for kind in ("member_edit", "member_edit_columns")}
    feedback_times: list[float] = []
    feedback: list[dict[str, Any]] = []
    for k in range(writes):
        for kind, edited in (("member_edit", lambda m: _edited(m, rng)),
                             ("member_edit_columns",
                              lambda m: _edited_columns(m, rng, capabilities))):
            mid = rng.choice(ids)
            member = edited(json.loads(members[mid]))
            members[mid] = json.dumps(member)
            t, c = time.perf_counter(), time.thread_time()
            matcher.apply_changes(members=[member])
            timed[kind]["apply_cpu"].append(time.thread_time() - c)
            matcher.suggest(rng.choice(ids), view=View.MEMBER)
            timed[kind]["then_suggest"].append(time.perf_counter() - t)
            timed[kind]["then_suggest_cpu"].append(time.thread_time() - c)

        asker = rng.choice(ids)
        shown = matcher.suggest(asker, view=View.MEMBER)
        if not shown:
            continue
        decision = {"member": asker, "candidate": shown[0].member, "decision": "declined",
                    "at": dt.datetime.now(dt.UTC).isoformat()}
        feedback.append(decision)
        pair = {asker, shown[0].member}
        incident = [f for f in feedback if pair & {f["member"], f["candidate"]}]
        t = time.perf_counter()
        matcher.apply_changes(feedback_members=pair, feedback=incident)
        again = matcher.suggest(asker, view=View.MEMBER)
        feedback_times.append(time.perf_counter() - t)
        assert shown[0].member not in [s.member for s in again]
    for kind, samples in timed.items():  # CPU is this thread's: load-independent
        for name, values in samples.items():
            out[f"{kind}_{name}"] = _pct(values)
    out["decision_then_suggest"] = _pct(feedback_times)
    out["rss_end_mb"] = _rss_mb()
    # The peak includes the document and, with several refits, a new fit beside the old one.
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if matcher_memory:
        out["matcher_alone"] = _matcher_rss_mb(matcher)
    out["load_end"] = os.getloadavg()
    return out


# -- database + engine --------------------------------------------------------------------------
def db_part(n: int, seed: int, writes: int, refits: int, clients: int, seconds: float,
            workers: int = 2, warm_up: float = 0.0) -> dict[str, Any]:
    from api import memory
    from api.engine import Engine
    from graph.database import open_database
    from graph.feedback import record_feedback
    from graph.members import put_member
    from graph.projection import project_network
    from graph.settings import DatabaseSettings
    from graph.store import import_network
    from matching.features import View
    from matching.scoring import PartnerMatcher

    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-live-"))
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
    nid = f"live-{n}"
    doc = synthetic.generate(n, seed, nid=nid)
    members = {m["id"]: m for m in doc["members"]}
    ids = sorted(members)
    rng = random.Random(seed)
    out: dict[str, Any] = {"members": n}
    try:
        with open_database(settings) as db:
            t = time.perf_counter()
            import_network(db, doc)
            out["import_s"] = time.perf_counter() - t

            # Restart: a fresh engine warms up in the background; then the first answer.
            memory.tune()  # the service's collector policy, as its lifespan sets it
            engine = Engine()
            engine.follow(db)  # as the service does: its own writes are handed over, not read
            t = time.perf_counter()
            engine.warm(db).result()
            out["warm_start_s"] = time.perf_counter() - t
            t = time.perf_counter()
            with engine.reading(db, nid) as matcher:
                matcher.suggest(ids[0], view=View.MEMBER)
            out["first_suggestion_after_ready_ms"] = (time.perf_counter() - t) * 1000
            other = Engine()
            other.warm(db).result()

            def answer(e: Engine, mid: str) -> list[str]:
                with e.reading(db, nid, queued=True) as m:
                    return [s.member for s in m.suggest(mid, view=View.MEMBER)]

            naive = []
            for _ in range(refits):
                t = time.perf_counter()
                projection = project_network(db, nid)
                PartnerMatcher().fit(projection).suggest(rng.choice(ids), view=View.MEMBER)
                naive.append(time.perf_counter() - t)
            projection = None  # the naive fit's: a service would not keep it
            # Nor its garbage: the fit's cycles (networkx views) would otherwise wait for a full
            # collection that may land inside a timed answer.
            gc.collect()
            out["naive_reproject_refit_suggest"] = _pct(naive)

            # The writer's process applies its write before the write answers (api/engine.py
            # _written), so the apply is in the write's time, not the next suggestion's: the
            # write and the next suggestion are timed together too.
            edit, seen_by_other, decided = [], [], []
            edit_with_write, decided_with_write = [], []
            for _ in range(writes):
                mid = rng.choice(ids)
                members[mid] = _edited(members[mid], rng)
                body = {k: v for k, v in members[mid].items() if k != "id"}
                written = time.perf_counter()
                put_member(db, nid, mid, body)
                t = time.perf_counter()
                answer(engine, rng.choice(ids))
                edit.append(time.perf_counter() - t)
                edit_with_write.append(time.perf_counter() - written)

                shown = answer(other, rng.choice(ids))  # keeps the other engine current
                asker = rng.choice(ids)
                shown = answer(engine, asker)
                if not shown:
                    continue
                written = time.perf_counter()
                record_feedback(db, nid, asker, shown[0], "declined")
                t = time.perf_counter()
                after = answer(engine, asker)
                decided.append(time.perf_counter() - t)
                decided_with_write.append(time.perf_counter() - written)
                assert shown[0] not in after
                t = time.perf_counter()
                assert shown[0] not in answer(other, asker)  # written through the first
                seen_by_other.append(time.perf_counter() - t)
            out["member_edit_then_suggest"] = _pct(edit)
            out["decision_then_suggest"] = _pct(decided)
            out["member_edit_and_suggest_with_the_write"] = _pct(edit_with_write)
            out["decision_and_suggest_with_the_write"] = _pct(decided_with_write)
            out["write_in_one_seen_by_other"] = _pct(seen_by_other)
            if seconds > 0:  # (--seconds 0: the write loop alone, as for 100k members)
                if warm_up > 0:  # (see --warm-up)
                    _load(db, engine, nid, ids, clients, warm_up, 0.2, members)
                out["mixed"] = {"read_only": _load(db, engine, nid, ids, clients, seconds, 0.0),
                                "mixed_80_20": _load(db, engine, nid, ids, clients, seconds,
                                                     0.2, members)}
            if workers > 1 and seconds > 0:
                out["mixed_processes"] = {
                    "read_only": _load_processes(settings, nid, members, clients, seconds, 0.0,
                                                 workers, warm_up),
                    "mixed_80_20": _load_processes(settings, nid, members, clients, seconds,
                                                   0.2, workers, warm_up)}
            out["rss_end_mb"] = _rss_mb()
            engine.close()
            other.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def _load(db, engine, nid: str, ids: list[str], clients: int, seconds: float, write_share: float,
          members: dict[str, Any] | None = None, samples: bool = False) -> dict[str, Any]:
    """``clients`` threads for ``seconds``: suggestions, and writes (member edits and decisions,
    alternately) with probability ``write_share``."""
    from graph.feedback import record_feedback
    from graph.members import put_member
    from matching.features import View

    reads: list[float] = []
    writes: list[float] = []
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(k: int) -> None:
        rng = random.Random(k)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            if rng.random() < write_share and members is not None:
                mid = rng.choice(ids)
                if rng.random() < 0.5:
                    body = {k2: v for k2, v in _edited(members[mid], rng).items() if k2 != "id"}
                    put_member(db, nid, mid, body)
                else:
                    record_feedback(db, nid, mid, rng.choice(ids), "declined") \
                        if mid != ids[0] else None
                with lock:
                    writes.append(time.perf_counter() - t)
            else:  # (queued, as the suggestions route reads)
                with engine.reading(db, nid, queued=True) as m:
                    m.suggest(rng.choice(ids), view=View.MEMBER)
                with lock:
                    reads.append(time.perf_counter() - t)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if samples:  # for _load_processes, which pools the samples of several processes
        return {"samples": {"reads": reads, "writes": writes}, "elapsed": elapsed}
    return {"reads": _pct(reads), "writes": _pct(writes) if writes else None,
            "requests_per_s": (len(reads) + len(writes)) / elapsed}


def _load_processes(settings, nid: str, members: dict[str, Any], clients: int, seconds: float,
                    write_share: float, workers: int, warm_up: float = 0.0) -> dict[str, Any]:
    """``_load`` spread over ``workers`` processes (``serve --workers``, or hosts behind a load
    balancer, minus HTTP): ``clients`` threads in all, the same start and length; each process
    first runs the 80 / 20 load for ``warm_up`` seconds, untimed (together, as they start)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding driver threads
    manager = ctx.Manager()
    events = [manager.Event() for _ in range(workers)]
    share = [clients // workers + (k < clients % workers) for k in range(workers)]
    text = json.dumps(members)
    with ctx.Pool(workers) as pool:
        # Each worker warms, then waits for a start time written to a shared value.
        start = manager.Value("d", 0.0)
        jobs = [pool.apply_async(_worker_wait, (settings, nid, text, share[k], seconds,
                                                write_share, start, events[k], warm_up))
                for k in range(workers)]
        for event in events:
            event.wait(1800)
        start.value = time.time() + 1.0
        parts = [job.get(seconds + 600) for job in jobs]
    manager.shutdown()
    reads = [x for p in parts for x in p["samples"]["reads"]]
    writes = [x for p in parts for x in p["samples"]["writes"]]
    elapsed = max(p["elapsed"] for p in parts)
    return {"workers": workers, "reads": _pct(reads), "writes": _pct(writes) if writes else None,
            "requests_per_s": (len(reads) + len(writes)) / elapsed}


def _worker_wait(settings, nid, members_json, clients, seconds, write_share, start, ready,
                 warm_up=0.0):
    from api import memory
    from api.engine import Engine
    from graph.database import open_database

    members = json.loads(members_json)
    ids = sorted(members)
    with open_database(settings) as db:
        memory.tune()
        engine = Engine()
        engine.follow(db)
        engine.warm(db).result()
        if warm_up > 0:
            _load(db, engine, nid, ids, clients, warm_up, 0.2, members)
        ready.set()
        while start.value == 0.0:
            time.sleep(0.05)
        time.sleep(max(0.0, start.value - time.time()))
        try:
            return _load(db, engine, nid, ids, clients, seconds, write_share,
                         members if write_share else None, samples=True)
        finally:
            engine.close()


# -- two service processes over HTTP ----------------------------------------------------------
def processes_part(n: int, seed: int, writes: int) -> dict[str, Any]:
    """Two ``partnermatch serve`` processes on one database: a decision posted to the first,
    then the second's next suggestion (it must no longer show the declined partner)."""
    import secrets
    import signal
    import subprocess

    try:
        import httpx
    except ImportError:  # the test extra installs the fork
        import httpx2 as httpx

    from graph.local_server import LocalServer

    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-procs-"))
    token = "pm_bench_" + secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(PARTNERMATCH_DATA=str(data_dir), PARTNERMATCH_ADMIN_TOKEN=token)
    exe = shutil.which("partnermatch", path=str(Path(sys.executable).parent))
    procs, clients = [], []
    out: dict[str, Any] = {"members": n}
    nid = f"procs-{n}"

    def ready(client: httpx.Client, nid_ready: bool) -> bool:
        try:
            health = client.get("/health", timeout=5)
        except httpx.TransportError:
            return False
        matchers = health.json().get("matchers") or {}
        return health.status_code == 200 and (
            not nid_ready or (matchers.get("warming") == 0 and matchers.get("fitting") == 0))

    try:
        # The network is loaded before the services start: into an empty database they would
        # load the seed networks, whose shared taxonomy the synthetic one may not redefine.
        doc = synthetic.generate(n, seed, nid=nid)
        path = data_dir / "network.json"
        path.write_text(json.dumps(doc))
        cli = [sys.executable, "-m", "api.cli"]
        subprocess.run([*cli, "db", "start"], env=env, check=True, capture_output=True)
        subprocess.run([*cli, "load", str(path)], env=env, check=True, capture_output=True)
        for k in range(2):
            port = 8700 + random.Random().randrange(1000)
            log = open(data_dir / f"serve-{k}.log", "wb")
            procs.append(subprocess.Popen([exe or "partnermatch", "serve", "--port", str(port),
                                           "--log-level", "warning"], env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
            clients.append(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                                        headers={"Authorization": f"Bearer {token}"}))
            while not ready(clients[k], False):
                if procs[k].poll() is not None:
                    raise RuntimeError((data_dir / f"serve-{k}.log").read_text()[-2000:])
                time.sleep(0.5)
        first, second = clients
        t = time.perf_counter()
        while not ready(second, True):
            time.sleep(0.1)
        out["second_ready_s"] = time.perf_counter() - t
        ids = sorted(m["id"] for m in doc["members"])
        rng = random.Random(seed)
        url = f"/networks/{nid}/members/{{}}/suggestions"
        t = time.perf_counter()
        second.get(url.format(ids[0])).raise_for_status()
        out["first_suggestion_after_ready_ms"] = (time.perf_counter() - t) * 1000
        seen = []
        for _ in range(writes):
            asker = rng.choice(ids)
            shown = [s["member"] for s in second.get(url.format(asker)).json()["suggestions"]]
            if not shown:
                continue
            first.post(f"/networks/{nid}/feedback", json={
                "member": asker, "candidate": shown[0], "decision": "declined"}
                       ).raise_for_status()
            t = time.perf_counter()
            after = second.get(url.format(asker)).json()["suggestions"]
            seen.append(time.perf_counter() - t)
            assert shown[0] not in [s["member"] for s in after]
        out["decision_in_first_seen_by_second"] = _pct(seen)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server = LocalServer(data_dir)
        if server.status() is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--db-sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--process-sizes", type=int, nargs="*", default=[10_000],
                        help="two serve processes over HTTP")
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--refits", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of each mixed load (0: none)")
    parser.add_argument("--workers", type=int, default=2,
                        help="service processes sharing the mixed load's clients (1: only the "
                             "one-process load)")
    parser.add_argument("--warm-up", type=float, default=0.0,
                        help="seconds of 80 / 20 load, untimed, in each service process before "
                             "its timed loads: the steady state of a service that has taken "
                             "writes (rankers retrained, retraining process started), not its "
                             "first seconds of them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_start": os.getloadavg(),
                               "warm_up_s": args.warm_up,
                               "engine": {}, "db": {}, "processes": {}}
    for n in args.sizes:
        print(f"live engine, {n:,} members ...", file=sys.stderr, flush=True)
        results["engine"][str(n)] = engine_part(n, args.seed, args.writes, args.refits)
        print(json.dumps(results["engine"][str(n)]), file=sys.stderr, flush=True)
    for n in args.db_sizes:
        print(f"live engine with the database, {n:,} members ...", file=sys.stderr, flush=True)
        results["db"][str(n)] = db_part(n, args.seed, args.writes, args.refits, args.clients,
                                        args.seconds, args.workers, args.warm_up)
        print(json.dumps(results["db"][str(n)]), file=sys.stderr, flush=True)
    results["processes"] = {}
    for n in args.process_sizes:
        print(f"two processes, {n:,} members ...", file=sys.stderr, flush=True)
        results["processes"][str(n)] = processes_part(n, args.seed, args.writes)
        print(json.dumps(results["processes"][str(n)]), file=sys.stderr, flush=True)
    return finish(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
