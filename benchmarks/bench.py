"""Benchmarks of partnermatch on synthetic networks, each figure beside its target and the naive way.

    python benchmarks/bench.py                                # 1k, 10k, 100k members, db, api
    python benchmarks/bench.py --sizes 1000 10000 --skip-api
    python benchmarks/bench.py --sizes 1000 --skip-db --skip-api --json /tmp/bench.json

What is measured (see docs/benchmarks.md):

- engine, per size, in a fresh subprocess (so ``ru_maxrss`` is that size's peak): the in-memory
  projection (``build_projection``), ``PartnerMatcher().fit``, top-10 suggestions for random
  members (warm), a pure-Python dict loop over all pairs computing the same benefit (on a sample),
  suggestions for every member (score_block in blocks + top-10, and ``best_pairs``), peak RSS;
- database, in a fresh temporary ``PARTNERMATCH_DATA``: ``import_network`` and ``project_network``
  against one Cypher query per member;
- API: ``partnermatch serve`` on a free port with a fresh data directory, a 5k network imported
  through ``POST /networks/{nid}/import``, then 200 timed ``GET .../suggestions?limit=10``.

Every server started here is stopped at the end, and every temporary directory removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import heapq
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic

TARGETS = {
    "suggest_ms": {10_000: 10.0, 100_000: 50.0},  # p95 of a warm top-10 request
    "all_members_s": {10_000: 5.0},
    "projection_s": {10_000: 10.0},
    "import_rate": 500.0,  # members per second, at 10k
    "peak_mb": {100_000: 2048.0},
    "api_p95_ms": 50.0,  # 5k network
}
SUGGESTION_PATH = "/networks/{nid}/members/{mid}/suggestions"


# =============================================================================================
# The naive way: plain dicts, a Python loop over every candidate
# =============================================================================================
NON_CORE_CAPABILITY_KINDS = {"purchase", "knowhow", "certification", "asset"}
NON_CORE_NEED_KINDS = {"purchase", "knowhow"}
CORE_CAPABILITY_KINDS = {"service", "product", None}
POSITIVE_TIES = {"COLLABORATES_WITH", "TRUSTS", "SUPPLIES"}


class NaiveMatcher:
    """The engine's hand score without matrices: for a, loop over every b and sum dict lookups.

    Same definitions as ``matching.features``/``matching.scoring`` (benefit both ways, non-core
    benefit for rivals, inferred rivalry, tie strength, common partners, competitor penalty); the
    TF-IDF text term is left out (it would need the vectoriser), so the naive loop here is a lower
    bound on the naive cost. The taxonomy coverage ``S`` is taken from the engine
    (``coverage_of``) as a dict of dicts: it is per capability pair, not per member pair.
    """

    def __init__(self, document: dict[str, Any], coverage: dict[str, dict[str, float]],
                 weakness_weight: float, weights: dict[str, float]):
        self.S = coverage
        self.w = weights
        kinds = {c["id"]: c.get("kind") for c in document["capabilities"]}
        self.ids = [m["id"] for m in document["members"]]
        self.levels: dict[str, dict[str, float]] = {}
        self.demand: dict[str, dict[str, float]] = {}
        self.non_core: dict[str, dict[str, float]] = {}
        self.core: dict[str, set[str]] = {}
        self.sector: dict[str, Any] = {}
        self.region: dict[str, Any] = {}
        for m in document["members"]:
            mid = m["id"]
            self.levels[mid] = {c["id"]: float(c["level"]) for c in m.get("capabilities", [])}
            raw: dict[str, float] = {}
            non_core_needs = set()
            for n in m.get("needs", []):
                u = n.get("urgency") if n.get("urgency") is not None else 3
                raw[n["id"]] = max(raw.get(n["id"], 0.0), u / 5.0)
                if n.get("kind") in NON_CORE_NEED_KINDS:
                    non_core_needs.add(n["id"])
            for w in m.get("weaknesses", []):
                raw[w["id"]] = max(raw.get(w["id"], 0.0), w["severity"] / 5.0 * weakness_weight)
            total = sum(raw.values())
            self.demand[mid] = {d: v / total for d, v in raw.items()} if total else {}
            self.non_core[mid] = {d: v for d, v in self.demand[mid].items()
                                  if kinds.get(d) in NON_CORE_CAPABILITY_KINDS
                                  or d in non_core_needs}
            self.core[mid] = {c for c, lv in self.levels[mid].items()
                              if lv >= 3 and kinds.get(c) in CORE_CAPABILITY_KINDS}
            self.sector[mid] = m.get("sector")
            self.region[mid] = m.get("region")
        self.tie: dict[str, dict[str, float]] = {mid: {} for mid in self.ids}
        self.rivals: set[tuple[str, str]] = set()
        for t in document["ties"]:
            a, b = t["source"], t["target"]
            if t["type"] == "COMPETES_WITH":
                self.rivals.update({(a, b), (b, a)})
            elif t["type"] in POSITIVE_TIES:
                w = min(float(t.get("weight") or 0.5), 1.0)
                for x, y in ((a, b), (b, a)):
                    self.tie[x][y] = max(self.tie[x].get(y, 0.0), w)
        self.neighbours = {mid: set(self.tie[mid]) for mid in self.ids}

    def benefit(self, demand: dict[str, float], levels: dict[str, float]) -> float:
        """sum_d demand[d] * min(1, sum_c S[d][c] * level[c] / 5)."""
        total = 0.0
        for d, want in demand.items():
            row = self.S.get(d, {})
            cover = 0.0
            for c, level in levels.items():
                s = row.get(c)
                if s:
                    cover += s * level / 5.0
            total += want * min(cover, 1.0)
        return total

    def scores(self, a: str) -> dict[str, float]:
        w = self.w
        out = {}
        for b in self.ids:
            if b == a:
                continue
            rival = (a, b) in self.rivals or (
                self.sector[a] is not None and self.sector[a] == self.sector[b]
                and self.region[a] is not None and self.region[a] == self.region[b]
                and not self.core[a].isdisjoint(self.core[b]))
            u = self.benefit(self.non_core[a] if rival else self.demand[a], self.levels[b])
            v = self.benefit(self.demand[b], self.levels[a])
            common = len(self.neighbours[a] & self.neighbours[b])
            s = (u + w["mutual"] * math.sqrt(u * v) + w["partner"] * v
                 + w["tie"] * self.tie[a].get(b, 0.0) + w["common"] * min(common, 3) / 3)
            if rival:
                s *= w["penalty"]
            if s > 0:
                out[b] = s
        return out

    def suggest(self, a: str, limit: int = 10) -> list[tuple[str, float]]:
        return heapq.nsmallest(limit, ((b, s) for b, s in self.scores(a).items()),
                               key=lambda item: (-item[1], item[0]))


def naive_from_matcher(document: dict[str, Any], matcher) -> NaiveMatcher:
    f = matcher.features_
    ids = f.projection.capability_ids
    S = f.coverage_of.tocoo()
    coverage: dict[str, dict[str, float]] = {}
    for d, c, v in zip(S.row.tolist(), S.col.tolist(), S.data.tolist()):
        coverage.setdefault(ids[d], {})[ids[c]] = v
    weights = {"mutual": matcher.mutual_weight, "partner": matcher.partner_weight,
               "tie": matcher.tie_weight, "common": matcher.common_weight,
               "penalty": matcher.competitor_penalty}
    return NaiveMatcher(document, coverage, matcher.weakness_weight, weights)


# =============================================================================================
# Workers (each runs in its own subprocess and prints one JSON line)
# =============================================================================================
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max()), "n": len(values)}


def _engine_score_without_text(matcher, a: int) -> np.ndarray:
    """The engine's directed scores for member a with the text term taken out (for the check)."""
    score, f, rival = matcher.score_block(np.array([a]))
    text = matcher.text_weight * f["text"][0] * np.where(rival[0], matcher.competitor_penalty, 1.0)
    return np.where(np.isfinite(score[0]), score[0] - text, -np.inf)


def _all_scores(matcher, n: int):
    """(rows, scores) blocks over every member: ``score_all`` when the engine has it."""
    if hasattr(matcher, "score_all"):
        yield from matcher.score_all()
        return
    for start in range(0, n, 512):
        rows = np.arange(start, min(start + 512, n))
        yield rows, matcher.score_block(rows)[0]


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k best scores, best first (vectorised over the block)."""
    k = min(k, score.shape[1])
    part = np.argpartition(-score, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(score, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def worker_engine(n: int, seed: int, requests: int, naive_members: int, all_members_max: int
                  ) -> dict[str, Any]:
    from matching.projection import build_projection
    from matching.scoring import PartnerMatcher, _top

    out: dict[str, Any] = {"members": n}
    t = time.perf_counter()
    doc = synthetic.generate(n, seed)
    out["generate_s"] = time.perf_counter() - t
    out["ties"] = len(doc["ties"])
    out["capabilities"] = len(doc["capabilities"])
    out["rss_document_mb"] = _rss_mb()

    t = time.perf_counter()
    projection = build_projection(doc["network"], doc["capabilities"], doc["members"], doc["ties"])
    out["projection_s"] = time.perf_counter() - t
    t = time.perf_counter()
    matcher = PartnerMatcher().fit(projection)
    out["fit_s"] = time.perf_counter() - t
    rng = np.random.default_rng(seed + 1)
    members = rng.choice(n, size=min(requests, n), replace=False)
    t = time.perf_counter()
    first = matcher.suggest(projection.member_ids[int(members[0])], limit=10)
    out["first_suggest_ms"] = (time.perf_counter() - t) * 1000
    out["first_suggest_count"] = len(first)
    out["peak_mb"] = _peak_mb()  # projection + fit + a suggestion (and the document in memory)

    times = []
    for i in members:
        t = time.perf_counter()
        matcher.suggest(projection.member_ids[int(i)], limit=10)
        times.append((time.perf_counter() - t) * 1000)
    out["suggest_ms"] = _percentiles(times)

    # The naive way on a sample, checked against the engine (text term removed) on a few members.
    naive = naive_from_matcher(doc, matcher)
    sample = [projection.member_ids[int(i)] for i in members[:naive_members]]
    naive_times, max_diff, same_top = [], 0.0, 0
    checked = min(3, len(sample))
    for k, mid in enumerate(sample):
        t = time.perf_counter()
        top = naive.suggest(mid, limit=10)
        naive_times.append((time.perf_counter() - t) * 1000)
        if k < checked:
            a = projection.member_index[mid]
            engine = _engine_score_without_text(matcher, a)
            naive_all = naive.scores(mid)
            for b, s in naive_all.items():
                max_diff = max(max_diff, abs(s - float(engine[projection.member_index[b]])))
            # Same ten scores (to float32 precision): near-equal scores may swap places.
            engine_top = sorted((float(engine[b]) for b in _top(engine, 10)), reverse=True)
            same_top += np.allclose(engine_top, [s for _, s in top], rtol=0, atol=1e-5)
    out["naive_ms"] = _percentiles(naive_times)
    out["naive_check"] = {"members": checked, "max_abs_score_diff": max_diff,
                          "same_top10": same_top}

    if n <= all_members_max:
        t = time.perf_counter()
        count = 0
        for rows, score in _all_scores(matcher, n):
            top = top_k(score, 10)
            count += int(np.isfinite(np.take_along_axis(score, top, axis=1)).sum())
        out["all_members_s"] = time.perf_counter() - t
        out["all_members_suggestions"] = count
        t = time.perf_counter()
        matcher.best_pairs(limit=50)
        out["best_pairs_s"] = time.perf_counter() - t
        out["all_members_naive_s"] = out["naive_ms"]["p50"] / 1000 * n
    out["peak_mb_end"] = _peak_mb()
    return out


NAIVE_MEMBER = """
MATCH (m:Member {network: $nid, id: $mid})
RETURN m.id AS id, m.name AS name, m.sector AS sector, m.region AS region, m.size AS size,
       m.description AS description,
       [(m)-[r:HAS_CAPABILITY]->(c:Capability) | {id: c.id, level: r.level}] AS capabilities,
       [(m)-[r:HAS_WEAKNESS]->(c:Capability) | {id: c.id, severity: r.severity}] AS weaknesses,
       [(m)-[r:NEEDS]->(c:Capability) |
           {id: c.id, kind: r.kind, urgency: r.urgency, volume: r.volume}] AS needs,
       [(m)-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]->(o:Member {network: $nid}) |
           {source: m.id, target: o.id, type: type(t), weight: t.weight, since: t.since}] AS ties
"""


def naive_projection(db, nid: str, limit: int) -> dict[str, Any]:
    """One Cypher query per member (in its own transaction), then build_projection."""
    from graph import queries as q
    from matching.projection import build_projection

    t0 = time.perf_counter()
    network = db.query(q.NETWORK, nid=nid)[0]
    taxonomy = db.query(q.TAXONOMY)
    ids = [r["id"] for r in db.query("MATCH (m:Member {network: $nid}) RETURN m.id AS id",
                                     nid=nid)]
    fixed = time.perf_counter() - t0
    sample = ids if len(ids) <= limit else ids[:limit]
    members, ties = [], []
    t = time.perf_counter()
    for mid in sample:
        row = db.query(NAIVE_MEMBER, nid=nid, mid=mid)[0]
        ties += row.pop("ties")
        members.append(row)
    per_member = (time.perf_counter() - t) / len(sample)
    result = {"queried": len(sample), "per_member_ms": per_member * 1000,
              "extrapolated": len(sample) < len(ids)}
    if len(sample) == len(ids):
        t = time.perf_counter()
        projection = build_projection(network, taxonomy, members, ties)
        result["build_s"] = time.perf_counter() - t
        result["levels_nnz"] = int(projection.levels.nnz)
        result["ties"] = projection.ties.number_of_edges()
    else:  # build time scales linearly; estimate it from the sample
        t = time.perf_counter()
        build_projection(network, taxonomy, members, [])
        result["build_s"] = (time.perf_counter() - t) * len(ids) / len(sample)
    result["total_s"] = fixed + per_member * len(ids) + result["build_s"]
    return result


def worker_db(sizes: list[int], seed: int, naive_limit: int) -> dict[str, Any]:
    from graph.database import open_database
    from graph.projection import project_network
    from graph.settings import DatabaseSettings
    from graph.store import import_network

    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-db-"))
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
    out: dict[str, Any] = {"backend": "local ArcadeDB" if settings.is_local else settings.uri,
                           "sizes": {}}
    try:
        t = time.perf_counter()
        with open_database(settings) as db:
            out["start_s"] = time.perf_counter() - t
            for n in sizes:
                nid = f"bench-{n}"
                doc = synthetic.generate(n, seed, nid=nid)
                r: dict[str, Any] = {"members": n, "ties": len(doc["ties"])}
                t = time.perf_counter()
                import_network(db, doc)
                r["import_s"] = time.perf_counter() - t
                r["import_rate"] = n / r["import_s"]
                del doc
                t = time.perf_counter()
                projection = project_network(db, nid)
                r["projection_s"] = time.perf_counter() - t
                r["projection_levels_nnz"] = int(projection.levels.nnz)
                r["projection_ties"] = projection.ties.number_of_edges()
                del projection
                r["naive"] = naive_projection(db, nid, naive_limit)
                out["sizes"][str(n)] = r
                print(f"  db {n}: {json.dumps(r)}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


# =============================================================================================
# The API (main process; the server is a subprocess)
# =============================================================================================
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def suggestion_endpoint_exists() -> bool:
    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(ApiSettings(admin_token="unused"))
    return SUGGESTION_PATH in app.openapi().get("paths", {})  # routers may be included lazily


def run_api(n: int, seed: int, requests: int) -> dict[str, Any]:
    import httpx

    from graph.local_server import LocalServer

    if not suggestion_endpoint_exists():
        return {"skipped": f"GET {SUGGESTION_PATH} does not exist yet in api/routers"}
    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-api-"))
    token = "pm_bench_" + secrets.token_urlsafe(24)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(PARTNERMATCH_DATA=str(data_dir), PARTNERMATCH_ADMIN_TOKEN=token)
    exe = shutil.which("partnermatch", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "api.cli"]
    log = open(data_dir / "serve.log", "wb")
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"members": n, "port": port}
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=600) as client:
            t = time.perf_counter()
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("partnermatch serve exited: "
                                       + (data_dir / "serve.log").read_text()[-2000:])
                try:
                    if client.get("/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - t > 300:
                    raise RuntimeError("partnermatch serve did not answer within 300 s")
                time.sleep(0.5)
            out["start_s"] = time.perf_counter() - t
            nid = f"bench-api-{n}"
            doc = synthetic.generate(n, seed, nid=nid)
            body = json.dumps(doc).encode()
            t = time.perf_counter()
            r = client.post(f"/networks/{nid}/import", content=body,
                            headers={"Content-Type": "application/json"})
            r.raise_for_status()
            out["import_s"] = time.perf_counter() - t
            ids = [m["id"] for m in doc["members"]]
            rng = np.random.default_rng(seed + 2)
            url = lambda mid: f"/networks/{nid}/members/{mid}/suggestions"
            t = time.perf_counter()
            r = client.get(url(ids[0]), params={"limit": 10})
            r.raise_for_status()
            out["first_request_ms"] = (time.perf_counter() - t) * 1000
            for mid in rng.choice(ids, size=20):  # warm-up
                client.get(url(mid), params={"limit": 10}).raise_for_status()
            times, statuses = [], {}
            for mid in rng.choice(ids, size=requests, replace=False):
                t = time.perf_counter()
                r = client.get(url(mid), params={"limit": 10})
                times.append((time.perf_counter() - t) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            out["request_ms"] = _percentiles(times)
            out["statuses"] = {str(k): v for k, v in statuses.items()}
            sample = r.json()
            out["sample_response_bytes"] = len(r.content)
            out["sample_response_kind"] = type(sample).__name__
    finally:
        _stop_server(proc)
        log.close()
        server = LocalServer(data_dir)
        if server.status() is not None:  # serve should have stopped it; make sure
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        proc.send_signal(sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# =============================================================================================
# Report
# =============================================================================================
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import neo4j
    import scipy
    import sklearn
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(ram, 1),
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "neo4j driver": neo4j.__version__, "date": dt.date.today().isoformat(),
            "code": _git_version(), "load average": _loadavg()}


def _loadavg() -> str:
    """Other processes on the machine skew every timing: the 1/5/15-minute load averages."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _git_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, text=True, capture_output=True, check=False).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def _verdict(value: float | None, target: float | None, higher_is_better: bool = False) -> str:
    if value is None or target is None:
        return "—"
    ok = value >= target if higher_is_better else value <= target
    return "PASS" if ok else "FAIL"


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def _k(n: int | str) -> str:
    n = int(n)
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def report(results: dict[str, Any]) -> str:
    lines: list[str] = []
    m = results["machine"]
    lines += ["### Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in m.items()]
    lines += ["", f"Total bench time: {results.get('total_s', 0):.0f} s.", ""]

    engine = results.get("engine", {})
    if engine:
        lines += ["### Engine set-up (no target)", "",
                  "| members | ties | generate s | build_projection s | fit s | first suggest ms |",
                  "|---|---|---|---|---|---|"]
        for n, r in engine.items():
            if "error" in r:
                lines.append(f"| {_k(n)} | error: {r['error']} | | | | |")
                continue
            lines.append(f"| {_k(n)} | {r['ties']:,} | {_fmt(r['generate_s'])} | "
                         f"{_fmt(r['projection_s'], 2)} | {_fmt(r['fit_s'])} | "
                         f"{_fmt(r['first_suggest_ms'])} |")
        lines += ["", "### Top-10 suggestions for one member, warm (fitted matcher)", "",
                  "| members | engine p50 ms | engine p95 ms | target (p95) | naive dict loop p50 ms "
                  "(members) | naive / engine | naive check | result |",
                  "|---|---|---|---|---|---|---|---|"]
        for n, r in engine.items():
            if "error" in r:
                continue
            s, nv, chk = r["suggest_ms"], r["naive_ms"], r["naive_check"]
            target = TARGETS["suggest_ms"].get(int(n))
            lines.append(
                f"| {_k(n)} | {_fmt(s['p50'], 2)} | {_fmt(s['p95'], 2)} | "
                f"{'≤ ' + _fmt(target, 0) + ' ms' if target else '—'} | {_fmt(nv['p50'])} "
                f"({nv['n']}) | {nv['p50'] / s['p50']:,.0f}× | "
                f"Δ≤{chk['max_abs_score_diff']:.1e}, top-10 scores equal {chk['same_top10']}/"
                f"{chk['members']} | {_verdict(s['p95'], target)} |")
        rows = [(n, r) for n, r in engine.items() if "all_members_s" in r]
        if rows:
            lines += ["", "### Suggestions for every member", "",
                      "| members | score_all blocks + top-10 each, s | best_pairs(50) s | "
                      "naive, extrapolated s | target | result |",
                      "|---|---|---|---|---|---|"]
            for n, r in rows:
                target = TARGETS["all_members_s"].get(int(n))
                lines.append(f"| {_k(n)} | {_fmt(r['all_members_s'], 2)} | "
                             f"{_fmt(r['best_pairs_s'], 2)} | {_fmt(r['all_members_naive_s'])} | "
                             f"{'≤ ' + _fmt(target, 0) + ' s' if target else '—'} | "
                             f"{_verdict(r['all_members_s'], target)} |")
        lines += ["", "### Peak memory: document + projection + fit + one suggestion "
                  "(ru_maxrss of a fresh process per size)", "",
                  "| members | RSS with the document only, MB | peak RSS, MB | peak − document, MB "
                  "| target | result |", "|---|---|---|---|---|---|"]
        for n, r in engine.items():
            if "error" in r:
                continue
            target = TARGETS["peak_mb"].get(int(n))
            lines.append(f"| {_k(n)} | {_fmt(r['rss_document_mb'])} | {_fmt(r['peak_mb'])} | "
                         f"{_fmt(r['peak_mb'] - r['rss_document_mb'])} | "
                         f"{'≤ ' + _fmt(target, 0) + ' MB' if target else '—'} | "
                         f"{_verdict(r['peak_mb'], target)} |")

    db = results.get("db")
    if db and "error" in db:
        lines += ["", f"### Database: error: {db['error']}"]
    elif db:
        lines += ["", f"### Database ({db['backend']}, fresh data directory; server start "
                  f"{db.get('start_s', 0):.1f} s)", "",
                  "| members | import s | members/s | target | result |",
                  "|---|---|---|---|---|"]
        for n, r in db["sizes"].items():
            target = TARGETS["import_rate"] if int(n) == 10_000 else None
            lines.append(f"| {_k(n)} | {_fmt(r['import_s'])} | {_fmt(r['import_rate'], 0)} | "
                         f"{'≥ ' + _fmt(target, 0) + ' /s' if target else '—'} | "
                         f"{_verdict(r['import_rate'], target, higher_is_better=True)} |")
        lines += ["", "| members | project_network s | naive: one query per member, s | "
                  "naive per query ms | target | result |", "|---|---|---|---|---|---|"]
        for n, r in db["sizes"].items():
            target = TARGETS["projection_s"].get(int(n))
            nv = r["naive"]
            how = (f"{_fmt(nv['total_s'])} (extrapolated from {nv['queried']:,})"
                   if nv["extrapolated"] else f"{_fmt(nv['total_s'])} (all {nv['queried']:,})")
            lines.append(f"| {_k(n)} | {_fmt(r['projection_s'], 2)} | {how} | "
                         f"{_fmt(nv['per_member_ms'], 2)} | "
                         f"{'≤ ' + _fmt(target, 0) + ' s' if target else '—'} | "
                         f"{_verdict(r['projection_s'], target)} |")
    for note in results.get("notes", []):
        lines += ["", f"Note: {note}"]

    api = results.get("api")
    if api:
        lines += ["", "### Through the API (GET .../suggestions?limit=10, one client, sequential)",
                  ""]
        if "skipped" in api or "error" in api:
            lines.append(f"Not measured: {api.get('skipped') or api.get('error')}")
        else:
            q = api["request_ms"]
            target = TARGETS["api_p95_ms"]
            lines += ["| members | import s | first request ms (fits) | p50 ms | p95 ms | "
                      "requests | target | result |", "|---|---|---|---|---|---|---|---|",
                      f"| {_k(api['members'])} | {_fmt(api['import_s'])} | "
                      f"{_fmt(api['first_request_ms'])} | {_fmt(q['p50'], 2)} | "
                      f"{_fmt(q['p95'], 2)} | {q['n']} ({api['statuses']}) | ≤ {target:.0f} ms | "
                      f"{_verdict(q['p95'], target)} |"]
    return "\n".join(lines) + "\n"


# =============================================================================================
# Driver
# =============================================================================================
def _run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, timeout=timeout, text=True,
                          check=False)
    if proc.returncode != 0:
        return {"error": f"worker exited with {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-engine", action="store_true",
                        help="leave out the in-memory engine part (e.g. to rerun the API part)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--requests", type=int, default=200, help="timed suggestion requests")
    parser.add_argument("--naive-members", type=int, nargs="+", default=[20, 10, 3],
                        help="members the naive loop runs for, per size (last one repeats)")
    parser.add_argument("--db-max-members", type=int, default=10_000,
                        help="database parts only for sizes up to this (100k import is too slow "
                             "for a 15-minute bench)")
    parser.add_argument("--naive-db-limit", type=int, default=2000,
                        help="members queried one by one; beyond that the naive time is "
                             "extrapolated")
    parser.add_argument("--all-members-max", type=int, default=10_000,
                        help="suggestions for every member only up to this size")
    parser.add_argument("--api-members", type=int, default=5000)
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--markdown", help="also write the tables here")
    parser.add_argument("--worker", choices=["engine", "db"], help=argparse.SUPPRESS)
    parser.add_argument("--live", nargs=argparse.REMAINDER,
                        help="the live engine's targets instead (benchmarks/live.py; the rest "
                             "of the command line goes to it, e.g. --live --sizes 10000)")
    args = parser.parse_args(argv)
    if args.live is not None:
        import live

        return live.main(args.live)

    if args.worker == "engine":
        result = worker_engine(args.sizes[0], args.seed, args.requests, args.naive_members[0],
                               args.all_members_max)
        print(json.dumps(result))
        return 0
    if args.worker == "db":
        print(json.dumps(worker_db(args.sizes, args.seed, args.naive_db_limit)))
        return 0

    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "engine": {}, "notes": []}
    for k, n in enumerate([] if args.skip_engine else args.sizes):
        naive = args.naive_members[min(k, len(args.naive_members) - 1)]
        print(f"engine, {n:,} members ...", file=sys.stderr, flush=True)
        results["engine"][str(n)] = _run_worker(
            ["engine", "--sizes", str(n), "--seed", str(args.seed), "--requests",
             str(args.requests), "--naive-members", str(naive), "--all-members-max",
             str(args.all_members_max)], timeout=1800)
        print(f"  {json.dumps(results['engine'][str(n)])}", file=sys.stderr, flush=True)
    if not args.skip_db:
        db_sizes = [n for n in args.sizes if n <= args.db_max_members]
        skipped = [n for n in args.sizes if n > args.db_max_members]
        if skipped:
            results["notes"].append(
                f"database parts skipped for {', '.join(_k(n) for n in skipped)} members "
                f"(--db-max-members {args.db_max_members}): at the measured import rate a 100k "
                "import alone would take several minutes, in one transaction")
        if db_sizes:
            print(f"database, {db_sizes} members ...", file=sys.stderr, flush=True)
            results["db"] = _run_worker(
                ["db", "--sizes", *map(str, db_sizes), "--seed", str(args.seed),
                 "--naive-db-limit", str(args.naive_db_limit)], timeout=1800)
    if not args.skip_api:
        print(f"api, {args.api_members:,} members ...", file=sys.stderr, flush=True)
        try:
            results["api"] = run_api(args.api_members, args.seed, args.requests)
        except Exception as exc:  # report it in the tables rather than lose the rest
            results["api"] = {"error": f"{type(exc).__name__}: {exc}"}
    results["total_s"] = time.perf_counter() - started
    results["machine"]["load average (start → end)"] = (
        f"{results['machine'].pop('load average')} → {_loadavg()}")
    text = report(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
