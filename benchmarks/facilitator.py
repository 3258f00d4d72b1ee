"""Suggestions on the seed networks as a facilitator reads them (issue 14): existing partners and
benefit-0 suggestions in the new-partner lists, concentration of #1 positions, coverage of needs
by the members' own top 5, and hit@5 against seed_data/expectations/facilitator.json.

    python benchmarks/facilitator.py [--json out.json]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json")
    args = parser.parse_args()
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
