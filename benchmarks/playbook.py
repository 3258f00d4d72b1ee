"""The playbook on the seed networks (docs/playbook.md) and its speed at 10,000 members.

    python benchmarks/playbook.py                # each seed network's roadmap and consortia
    python benchmarks/playbook.py --size 10000   # plus consortium and roadmap timings

The timings put the consortium program beside the naive way: the same exact program over every
capable member instead of the largest suppliers of each requirement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import matching.consortium as consortium_module  # noqa: E402
from matching.agents import network_gaps  # noqa: E402
from matching.consortium import Order, Requirement, form_consortia  # noqa: E402
from matching.features import NetworkFeatures  # noqa: E402
from matching.playbook import build_roadmap, public_part  # noqa: E402
from matching.projection import NetworkProjection, build_projection  # noqa: E402

SEEDS = ROOT / "seed_data"
NAIVE_LIMIT_S = 30.0


def _orders(doc: dict[str, Any]) -> list[tuple[str, Order]]:
    return [(o["id"], Order([Requirement(r["capability"], r["quantity"], r.get("min_level", 3))
                             for r in o["requirements"]], lead=o.get("lead"),
                            competitors=o.get("competitors", "penalise"),
                            max_members=o.get("max_members"))) for o in doc.get("orders", [])]


def _name(p: NetworkProjection, mid: str | None) -> str:
    return "—" if mid is None else p.ties.nodes[mid].get("name") or mid


def seed_report(path: Path, taxonomy: list[dict]) -> str:
    doc = json.loads(path.read_text(encoding="utf-8"))
    p = build_projection(doc["network"], taxonomy + doc.get("capabilities", []), doc["members"],
                         doc["ties"], agents=doc.get("agents", []))
    roadmap = build_roadmap(p, templates=doc.get("value_chains", []), orders=_orders(doc),
                            projects=doc.get("projects", []))
    out = [f"## {doc['network']['name']} (`{doc['network']['id']}`, {p.n_members} members, "
           f"{len(p.agents)} outside agents)", "", roadmap["reason"], "",
           "| # | step | integration | from month | members | benefit a year | lead | "
           "prepared by |", "|---|---|---|---|---|---|---|---|"]
    for s in roadmap["steps"]:
        month = s["start_month"] or s["status"]
        benefit = f"{s['benefit_eur']:,.0f} EUR" if s["benefit_eur"] else "—"
        rivals = " (rivals)" if s["trust"]["rivals"] else ""
        out.append(f"| {s['order']} | {s['title']} | {s['integration']}{rivals} | {month} | "
                   f"{len(s['members'])} | {benefit} | {_name(p, s['lead'])} | "
                   f"{', '.join(s['prepared_by']) or '—'} |")
    if roadmap["over_committed"]:
        out += ["", "Over-committed: " + "; ".join(
            f"{o['name']} ({o['committed']:g} h asked, {o['hours_per_month']:g} h stated)"
            for o in roadmap["over_committed"])]
    for name, order in _orders(doc):
        best = form_consortia(p, order, alternatives=0)["best"]
        out += ["", f"**Declared order `{name}`**: {best['reason']}", ""]
        out += [f"- {m['reason']} ({m['share']:.0%} of the order)" for m in best["members"]]
        out += [f"- Gap: {g['reason']}" for g in best["gaps"]]
    gaps = network_gaps(p, include_weaknesses=True, limit=5)
    if gaps:
        out += ["", "**Top gaps and who can close them** (facilitator's view)", ""]
        out += [f"- {g['label']} ({g['members']} members): "
                + (", ".join(a["name"] for a in g["agents"]) or "no agent known") for g in gaps]
    return "\n".join(out) + "\n"


def _synthetic(size: int) -> NetworkProjection:
    """The synthetic network with capacities on every service, product or asset capability
    (5-200 units a month) and hours for co-operation stated by 60 % of members (2-20)."""
    from synthetic import generate

    doc = generate(size, seed=0)
    rng = np.random.default_rng(1)
    kinds = {c["id"]: c.get("kind") for c in doc["capabilities"]}
    for member in doc["members"]:
        for cap in member["capabilities"]:
            if kinds[cap["id"]] in ("service", "product", "asset"):
                cap["capacity"] = float(rng.integers(5, 201))
        if rng.random() < 0.6:
            member["hours_per_month"] = float(rng.integers(2, 21))
    return build_projection(doc["network"], doc["capabilities"], doc["members"], doc["ties"])


def _big_order(p: NetworkProjection, n: int = 10) -> Order:
    """The n most widely held sized capabilities, each asked ~8 times a typical capacity."""
    held = np.asarray((p.capacities > 0).sum(axis=0)).ravel()
    top = np.argsort(-held, kind="stable")[:n]
    return Order([Requirement(p.capability_ids[j], 800.0, 3) for j in sorted(top)],
                 competitors="penalise")


def _timed(step) -> tuple[float, Any]:
    """Wall seconds and the result; the CPU seconds of the same step go to ``_cpu[0]`` (the
    machine is shared: wall time counts the other jobs' too)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = step()
    _cpu[0] = time.process_time() - cpu
    return time.perf_counter() - started, result


_cpu = [0.0]


def timings(size: int) -> str:
    p = _synthetic(size)
    order = _big_order(p)
    rows = [f"Synthetic network of {size:,} members (`benchmarks/synthetic.py`, seed 0) with "
            "capacities and hours added; an order of 10 requirements, 800 units a month each.",
            "", "| computation | seconds (wall) | CPU seconds | note |", "|---|---|---|---|"]

    def row(text: str) -> None:
        name, took_cell, rest = text.split(" | ", 2)
        text = f"{name} | {took_cell} | {_cpu[0]:.2f} | {rest}"
        rows.append(text)
        print(" ", text, file=sys.stderr, flush=True)

    took, best = _timed(lambda: form_consortia(p, order, alternatives=0))
    row(f"| consortium, best only | {took:.2f} | {len(best['best']['members'])} members, "
        f"coverage {best['best']['coverage']:.0%}, exact: {best['best']['exact']} |")
    took, three = _timed(lambda: form_consortia(p, order))
    sizes = [len(a["members"]) for a in [three["best"], *three["alternatives"]]]
    row(f"| consortium, best and 2 alternatives | {took:.2f} | target <= 2 s: "
        f"{'met' if took <= 2 else 'NOT met'}; sizes {sizes} |")
    swapped = consortium_module._Model.swapped
    consortium_module._Model.swapped = lambda self, x, cuts: None  # each alternative in full
    try:
        took_full, _ = _timed(lambda: form_consortia(p, order))
    finally:
        consortium_module._Model.swapped = swapped
    row(f"| before: best and 2 alternatives, each alternative's program solved in full | "
        f"{took_full:.2f} | |")
    budget = consortium_module.TIE_BREAK_BUDGET_S
    consortium_module.TIE_BREAK_BUDGET_S = float("inf")  # each tie-break its own 0.5 s
    try:
        took_budget, _ = _timed(lambda: form_consortia(p, order))
    finally:
        consortium_module.TIE_BREAK_BUDGET_S = budget
    row(f"| before: the same, each tie-break stage its own {consortium_module.TIE_BREAK_LIMIT_S:g} s "
        f"(no shared budget) | {took_budget:.2f} | |")
    kept = consortium_module.CANDIDATES_PER_REQUIREMENT
    consortium_module.CANDIDATES_PER_REQUIREMENT = 10 ** 9  # the naive way: every capable member
    consortium_module.TIME_LIMIT_S = NAIVE_LIMIT_S
    try:
        took_naive, naive = _timed(lambda: form_consortia(p, order, alternatives=0))
    finally:
        consortium_module.CANDIDATES_PER_REQUIREMENT = kept
        consortium_module.TIME_LIMIT_S = None
    same = (naive["best"]["coverage"] == best["best"]["coverage"]
            and len(naive["best"]["members"]) == len(best["best"]["members"]))
    row(f"| naive: the same program over every capable member, best only "
        f"({NAIVE_LIMIT_S:g} s limit per stage) | {took_naive:.2f} | same coverage and "
        f"size: {'yes' if same else 'NO'} |")
    features = NetworkFeatures(p)
    took, public = _timed(lambda: public_part(p, features=features))
    row(f"| roadmap, public part (pooling, services, chains, their schedule; once per state) | "
        f"{took:.2f} | {len(public.steps)} steps |")
    took, roadmap = _timed(lambda: build_roadmap(p, features=features, public=public))
    row(f"| roadmap, facilitator's view (given the public part) | {took:.2f} | "
        f"{len(roadmap['steps'])} steps |")
    members = [p.member_ids[k] for k in (0, size // 3, 2 * size // 3)]
    took, _ = _timed(lambda: [build_roadmap(p, member=m, public=public) for m in members])
    _cpu[0] /= 3
    row(f"| roadmap, a member's own view (given the public part), mean of 3 | "
        f"{took / 3:.2f} | rescheduled from the public plan |")
    took, _ = _timed(lambda: build_roadmap(p, member=members[0],
                                           public=public_part(p, plan=False)))
    row(f"| before: a member's own view from scratch | {took:.2f} | pooling and the whole "
        "schedule redone |")
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, help="also time consortia and the roadmap")
    parser.add_argument("--no-seeds", action="store_true", help="timings only")
    args = parser.parse_args()
    taxonomy = json.loads((SEEDS / "taxonomy.json").read_text(encoding="utf-8"))["capabilities"]
    if not args.no_seeds:
        for path in sorted(SEEDS.glob("*.json")):
            if path.name != "taxonomy.json":
                print(seed_report(path, taxonomy))
    if args.size:
        print(timings(args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
