"""Suggestions on the seed networks as a facilitator reads them (issue 14): existing partners and
benefit-0 suggestions in the new-partner lists, concentration of #1 positions, coverage of needs
by the members' own top 5, and hit@5 against seed_data/expectations/facilitator.json.

    python benchmarks/facilitator.py [--json out.json]
    python benchmarks/facilitator.py --timing 10000   # the network-aware order's cost

With ``--timing N`` it times, on a synthetic network of N members (benchmarks/synthetic.py),
``suggest`` (scores, network-aware order and reasons) beside ``score_block`` alone (the scores a
plain top-k would sort), 30 random members per view, after one warm-up call.

Coverage is measured with one yardstick for every engine version (``direct_coverage``: the
capability itself, a synonym, a narrower one, or one that ``serves`` it), so a rule that calls a
sibling "coverage" does not score itself.
"""

from __future__ import annotations

import argparse
import json

from matching.evaluation.facilitator import (EXPECTATIONS, direct_coverage, quality_report,
                                             seed_matcher)

NETWORKS = ("herencia", "fertility", "fishing", "health-local", "local-tv")


def timing(members: int) -> None:
    import time

    import numpy as np
    from synthetic import generate

    from matching.features import View
    from matching.projection import build_projection
    from matching.scoring import PartnerMatcher

    doc = generate(members, seed=0)
    projection = build_projection(doc["network"], doc["capabilities"], doc["members"],
                                  doc["ties"])
    matcher = PartnerMatcher().fit(projection)
    ids = projection.member_ids
    rng = np.random.default_rng(0)
    for view in (View.MEMBER, View.FACILITATOR):
        matcher.suggest(ids[0], view=view)
        full, scores = [], []
        for mid in rng.choice(ids, 30):
            t = time.perf_counter()
            matcher.suggest(mid, view=view)
            full.append(time.perf_counter() - t)
            t = time.perf_counter()
            matcher.score_block(np.array([projection.member_index[mid]]), view=view)
            scores.append(time.perf_counter() - t)
        print(f"{members} members, {view} view: suggest p50 {np.median(full) * 1000:.0f} ms "
              f"(p90 {np.quantile(full, 0.9) * 1000:.0f}); score_block alone p50 "
              f"{np.median(scores) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json")
    parser.add_argument("--timing", type=int)
    args = parser.parse_args()
    if args.timing:
        timing(args.timing)
        return
    seed = EXPECTATIONS.parents[1]
    out = {}
    for network in NETWORKS:
        doc = json.loads((seed / f"{network}.json").read_text(encoding="utf-8"))
        taxonomy = json.loads((seed / "taxonomy.json").read_text(encoding="utf-8"))
        rows = taxonomy["capabilities"] + doc.get("capabilities", [])
        matcher = seed_matcher(network)
        for view in ("facilitator", "member"):
            report = quality_report(matcher, network, view=view,
                                    coverage=direct_coverage(matcher, rows))
            out[f"{network}/{view}"] = report
            print(network, view, json.dumps(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
