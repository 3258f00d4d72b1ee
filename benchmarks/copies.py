"""What the analyses' copy of the live matcher costs the writes (issue 12).

Network-wide analyses read a frozen copy of the live matcher (``PartnerMatcher.frozen``, taken by
``api.engine.Engine.frozen`` under the network's catch-up lock: no write is applied while it is
made). One process, in memory, on a ``benchmarks/synthetic.py`` network:

- *copy*: how long taking the copy holds back the writes (wall and CPU time of ``frozen``, with
  no automatic collection, as the engine takes it);
- *edits*: ``apply_changes`` of three kinds (values, columns, ties), with no copy alive, while a
  copy is alive (the first edit of each kind is the one that may copy what the copy shares),
  and again once the copy is gone;
- *memory*: RSS after the fit (the generated document dropped), after a first analysis (a copy
  and the network's natural leaders computed on it, the copy kept), after 20 edits with
  that copy alive, and once it is gone.

    python benchmarks/copies.py --members 10000 [--json out.json]

Run from a checkout to measure that checkout (its directory comes first on the path).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic  # noqa: E402
from benchmarks.live import _edited, _edited_columns, _pct, _rss_mb  # noqa: E402


def _timed(work) -> tuple[float, float]:
    """Wall and CPU seconds of ``work()``, with no automatic collection (as the engine runs
    copies and fits: ``api.memory.fitting``)."""
    gc.disable()
    try:
        t, c = time.perf_counter(), time.thread_time()
        work()
        return time.perf_counter() - t, time.thread_time() - c
    finally:
        gc.enable()


def run(n: int, seed: int, edits: int) -> dict[str, Any]:
    from matching.leaders import natural_leaders
    from matching.projection import build_projection
    from matching.scoring import PartnerMatcher

    out: dict[str, Any] = {"members": n, "load_start": os.getloadavg()}
    doc = synthetic.generate(n, seed)
    rng = random.Random(seed)
    gc.disable()
    t = time.perf_counter()
    live = PartnerMatcher().fit(build_projection(doc["network"], doc["capabilities"],
                                                 doc["members"], doc["ties"]))
    out["fit_s"] = time.perf_counter() - t
    gc.enable()
    members = {m["id"]: json.dumps(m) for m in doc["members"]}
    ids = sorted(members)
    capabilities = [{"id": c["id"], "label": c.get("label") or c["id"]}
                    for c in doc["capabilities"]]
    ties: dict[str, list[dict[str, Any]]] = {}
    for tie in doc["ties"]:
        for mid in (tie["source"], tie["target"]):
            ties.setdefault(mid, []).append(tie)
    del doc
    gc.collect()
    out["rss_after_fit_mb"] = _rss_mb()

    def edit(kind: str) -> float:
        mid = rng.choice(ids)
        if kind == "ties":  # one tie to another member added, or one of the member's removed
            mine = [t for t in ties.get(mid, []) if mid in (t["source"], t["target"])]
            if mine and rng.random() < 0.5:
                gone = mine.pop(rng.randrange(len(mine)))
                for end in (gone["source"], gone["target"]):
                    ties[end] = [t for t in ties.get(end, []) if t is not gone]
            else:
                other = rng.choice(ids)
                if other != mid:
                    tie = {"source": mid, "target": other, "type": "TRUSTS", "weight": 0.7}
                    ties.setdefault(mid, []).append(tie)
                    ties.setdefault(other, []).append(tie)
            incident = list({id(t): t for t in ties.get(mid, [])}.values())
            return _timed(lambda: live.apply_changes(tie_members={mid}, ties=incident))[0]
        member = json.loads(members[mid])
        member = _edited(member, rng) if kind == "values" else \
            _edited_columns(member, rng, capabilities)
        members[mid] = json.dumps(member)
        return _timed(lambda: live.apply_changes(members=[member]))[0]

    kinds = ("values", "columns", "ties")

    def edits_of(label: str, count: int) -> None:
        for kind in kinds:
            times = [edit(kind) for _ in range(count)]
            out[f"{label}_{kind}_first_ms"] = times[0] * 1000
            out[f"{label}_{kind}"] = _pct(times)

    edits_of("edit_no_copy", 5)

    copies, cpu = [], []
    for _ in range(5):  # each copy dropped at once, as a refresh with nothing to compute
        held: list[Any] = []
        wall, c = _timed(lambda: held.append(live.frozen(at=(0, 0))))
        copies.append(wall)
        cpu.append(c)
        del held
        gc.collect()
    out["copy"] = _pct(copies)
    out["copy_cpu"] = _pct(cpu)

    # A first analysis: the copy taken and read, then kept while edits go on.
    held = []
    t = time.perf_counter()
    held.append(live.frozen(at=(1, 0)))
    frozen = held[0]
    leaders = json.dumps(natural_leaders(frozen.projection_), sort_keys=True, default=str)
    out["first_analysis_s"] = time.perf_counter() - t
    out["rss_after_first_analysis_mb"] = _rss_mb()
    count = max(1, edits // len(kinds))
    edits_of("edit_copy_alive", count)
    for _ in range(edits - count * len(kinds)):
        edit("columns")
    out["rss_after_edits_copy_alive_mb"] = _rss_mb()
    out["copy_unchanged"] = leaders == json.dumps(natural_leaders(frozen.projection_),
                                                  sort_keys=True, default=str)
    del frozen, held
    gc.collect()
    out["rss_copy_gone_mb"] = _rss_mb()
    edits_of("edit_copy_gone", 5)
    out["load_end"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.members, args.seed, args.edits)
    text = json.dumps(result, indent=1, default=float)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
