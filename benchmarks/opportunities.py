"""Opportunities on every seed network (docs/opportunities.md) and their speed at 10k members.

    python benchmarks/opportunities.py              # markdown tables for the seed networks
    python benchmarks/opportunities.py --size 10000 # plus timings on a synthetic network
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching.cross_training import cross_training  # noqa: E402
from matching.leaders import natural_leaders  # noqa: E402
from matching.metrics import network_metrics  # noqa: E402
from matching.pooling import buying_groups, shared_services  # noqa: E402
from matching.projection import build_projection  # noqa: E402
from matching.scoring import PartnerMatcher  # noqa: E402
from matching.value_chain import Stage, assign_stages  # noqa: E402

SEEDS = ROOT / "seed_data"


def load(path: Path, taxonomy: list[dict]) -> PartnerMatcher:
    doc = json.loads(path.read_text())
    projection = build_projection(doc["network"], taxonomy + doc.get("capabilities", []),
                                  doc["members"], doc["ties"])
    matcher = PartnerMatcher().fit(projection)
    matcher.templates = doc.get("value_chains", [])
    return matcher


def name(matcher: PartnerMatcher, mid: str | None) -> str:
    if mid is None:
        return "(external)"
    return matcher.projection_.ties.nodes[mid].get("name") or mid


def report(matcher: PartnerMatcher) -> str:
    p = matcher.projection_
    out = [f"## {p.network['name']} (`{p.network['id']}`, {p.n_members} members)", ""]
    pairs = matcher.best_pairs(limit=5)
    out += ["**Best pairs**", "", "| pair | score |", "|---|---|"]
    out += [f"| {name(matcher, a)} + {name(matcher, b)} | {pair['score']:.2f} |"
            for pair in pairs for a, b in [pair["members"]]]
    groups = buying_groups(p)["groups"]
    out += ["", f"**Buying groups** (total estimated saving "
                f"{sum(g['estimated_saving'] for g in groups):,.0f} EUR a year)", "",
            "| category | members | volume (EUR) | saving (EUR) | lead |", "|---|---|---|---|---|"]
    out += [f"| {g['label']} | {len(g['members'])} | {g['total_volume']:,.0f} | "
            f"{g['estimated_saving']:,.0f} | {name(matcher, g['lead'])} |" for g in groups[:6]]
    services = shared_services(p)["services"]
    out += ["", "**Shared services**", "", "| service | members | provider |", "|---|---|---|"]
    out += [f"| {s['label']} | {len(s['members'])} | {name(matcher, s['provider'])} |"
            for s in services[:6]]
    training = cross_training(p)
    out += ["", f"**Cross-training**: {len(training['pairs'])} mentor-mentee pairs, "
                f"{len(training['unmet'])} weaknesses left for outside training", ""]
    for template in matcher.templates:
        stages = [Stage(s["id"], s["requires"], s.get("min_members", 1), s.get("max_members", 1))
                  for s in template["stages"]]
        chain = assign_stages(matcher.features_, stages,
                              max_stages_per_member=template.get("max_stages_per_member", 1))
        out += [f"**Value chain {template['name']}** (total fit {chain.total_fit:.2f}, gaps: "
                f"{', '.join(chain.gaps) or 'none'})", "", "| stage | members |", "|---|---|"]
        out += [f"| {s['id']} | " + (", ".join(f"{name(matcher, m['member'])} ({m['fit']:.2f})"
                                               for m in s["members"]) or "—") + " |"
                for s in chain.stages]
        out.append("")
    leaders = natural_leaders(p, limit=3)["leaders"]
    out += ["**Natural leaders**", "", "| member | score | why |", "|---|---|---|"]
    out += [f"| {l['name']} | {l['score']:.2f} | {'; '.join(l['reasons'][:2])} |" for l in leaders]
    m = network_metrics(p, matcher=matcher)
    out += ["", f"**Health**: density {m['density']:.2f}, {m['components']} component(s), "
                f"{len(m['isolated'])} isolated, {len(m['communities'])} communities, "
                f"{m['competition']['tie_share']:.0%} of ties are rivalries, "
                f"{m['suggestion_share']:.0%} of members have a suggestion above "
                f"{m['threshold']}", ""]
    return "\n".join(out)


def timings(size: int) -> str:
    from synthetic import generate

    doc = generate(size, seed=0)
    started = time.perf_counter()
    projection = build_projection(doc["network"], doc["capabilities"], doc["members"], doc["ties"])
    matcher = PartnerMatcher().fit(projection)
    fit_s = time.perf_counter() - started
    roots = [c["id"] for c in doc["capabilities"] if not c.get("broader")][:4]
    steps = {
        "best pairs (limit 50)": lambda: matcher.best_pairs(limit=50),
        "buying groups": lambda: buying_groups(projection),
        "shared services": lambda: shared_services(projection),
        "cross-training": lambda: cross_training(projection),
        "value chain (4 stages)": lambda: assign_stages(
            matcher.features_, [Stage(c, [c], 1, 3) for c in roots]),
        "natural leaders": lambda: natural_leaders(projection),
        "metrics (with suggestion share)": lambda: network_metrics(projection, matcher=matcher),
    }
    rows = [f"Synthetic network of {size:,} members; projection built and matcher fitted once "
            f"in {fit_s:.1f} s (cached per network version by the service).", "",
            "| computation | seconds | target < 2 s |", "|---|---|---|"]
    for label, step in steps.items():
        started = time.perf_counter()
        step()
        took = time.perf_counter() - started
        rows.append(f"| {label} | {took:.2f} | {'met' if took < 2 else 'NOT met'} |")
        print(f"  {label}: {took:.2f} s", file=sys.stderr)
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, help="also time every opportunity at this size")
    args = parser.parse_args()
    taxonomy = json.loads((SEEDS / "taxonomy.json").read_text())["capabilities"]
    for path in sorted(SEEDS.glob("*.json")):
        if path.name != "taxonomy.json":
            print(report(load(path, taxonomy)))
    if args.size:
        print(timings(args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
