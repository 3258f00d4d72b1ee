"""Evaluate partner suggestions: seed networks (random hold-out) and CORDIS H2020 (temporal).

    python benchmarks/evaluate.py                      # seed networks only
    python benchmarks/evaluate.py --cordis             # and CORDIS at cuts 2017 2018 2019
    python benchmarks/evaluate.py --cordis --cuts 2018 --seeds 0 1 2 3 4

Prints markdown tables on stdout, progress on stderr. See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from matching import evaluation as ev

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "seed_data"
CORDIS_DIR = ROOT.parent / "shared" / "data" / "cordis-h2020"
ORDER = (*ev.LINK_PREDICTORS, "text", "random", "engine", "engine_learned")


def table(results: dict[str, dict[str, float]], k: int, title: str) -> str:
    lines = [f"**{title}**", "",
             f"| method | P@{k} | R@{k} | MRR | NDCG@{k} | ROC-AUC |", "|---|---|---|---|---|---|"]
    for method in ORDER:
        if method in results:
            m = results[method]
            lines.append(f"| {ev.METHOD_LABELS[method]} | {m['precision']:.3f} | "
                         f"{m['recall']:.3f} | {m['mrr']:.3f} | {m['ndcg']:.3f} | "
                         f"{m['roc_auc']:.3f} |")
    return "\n".join(lines) + "\n"


def run_seed_networks(seeds: list[int], fraction: float, k: int) -> None:
    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text())["capabilities"]
    print(f"## Seed networks (hold out {fraction:.0%} of positive pairs, seeds {seeds}, "
          f"k = {k})\n")
    for path in sorted(SEED_DIR.glob("*.json")):
        if path.stem == "taxonomy":
            continue
        doc = json.loads(path.read_text())
        t0 = time.perf_counter()
        res = ev.holdout_evaluation(doc, taxonomy, seeds=seeds, fraction=fraction, k=k)
        queries = np.mean([r["n_queries"] for r in res.values()])
        print(table(res, k, f"{path.stem}: {len(doc['members'])} members, "
                            f"{queries:.1f} queries per seed ({time.perf_counter() - t0:.1f} s)"))


def run_cordis(cuts: list[int], k: int) -> None:
    if not (CORDIS_DIR / "h2020.csv.gz").exists():
        print(f"CORDIS data not found at {CORDIS_DIR}; skipped.\n")
        return
    data = ev.cordis_load(CORDIS_DIR)
    print("## CORDIS H2020 health (SC1), temporal protocol\n")
    for cut in cuts:
        t0 = time.perf_counter()
        out = ev.cordis_evaluation(data, cut, k=k)
        split, ranker = out["split"], out["ranker"]
        companies = sum(data.org_type[split.candidates[q]] == ev.COMPANY for q in split.queries)
        print(f"### Cut {cut}: train < {cut}, test {cut}-{split.end}\n")
        print(f"{len(split.queries)} queries ({companies} companies), "
              f"{len(split.candidates)} candidates, {len(split.positives)} positives. "
              f"Learned ranker: `{ranker.name}` blended with PA (w = {ranker.blend_weight:.1f}), labels {ranker.train_window[0]}-"
              f"{ranker.train_window[1]} (horizon {ranker.horizon}); "
              f"{time.perf_counter() - t0:.0f} s.\n")
        print(table(out["results"]["overall"], k, f"cut {cut}, overall"))
        print(table(out["results"]["companies"], k, f"cut {cut}, companies (PRC)"))
        windows = ", ".join(f"{t}-{t + v - 1}" for t, v in ranker.validation_windows)
        print(f"Blended with preferential attachment at weight {ranker.blend_weight:.1f} "
              f"(per-query rank blend). Model selection on the new pairs of {windows} "
              "(features before each window's first year); score = mean over windows of "
              "(P@10 + MRR overall + P@10 + MRR companies) / 2, at each candidate's best "
              "blend weight:\n")
        print("| model | horizon | blend w | score at w (at w = 0) | validation labels | trained on "
              "labels | val P@10 | val MRR | val P@10 companies | val MRR companies |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for row in ranker.validation:
            for i, win in enumerate(row["windows"]):
                t, v = win["window"]
                head = (f"| {row['model']} | {row['horizon']} | {row['blend_weight']:.1f} | "
                        f"{row['score']:.3f} ({row['score_unblended']:.3f}) |" if i == 0
                        else "| | | | |")
                print(f"{head} {t}-{t + v - 1} | {win['train_window'][0]}-"
                      f"{win['train_window'][1]} | {win['val_precision']:.3f} | "
                      f"{win['val_mrr']:.3f} | {win['val_companies_precision']:.3f} | "
                      f"{win['val_companies_mrr']:.3f} |")
        print()
        print(target_line(out["results"]))
        sys.stdout.flush()


def target_line(results: dict) -> str:
    verdicts = []
    for subset in ("overall", "companies"):
        res = results[subset]
        learned = res["engine_learned"]
        base = {m: res[m] for m in (*ev.LINK_PREDICTORS, "text", "random")}
        best_p = max(base, key=lambda m: base[m]["precision"])
        best_r = max(base, key=lambda m: base[m]["mrr"])
        ok = (learned["precision"] > base[best_p]["precision"]
              and learned["mrr"] > base[best_r]["mrr"])
        verdicts.append(
            f"{subset}: engine + learned P@10 {learned['precision']:.3f} vs best baseline "
            f"{base[best_p]['precision']:.3f} ({ev.METHOD_LABELS[best_p]}), MRR "
            f"{learned['mrr']:.3f} vs {base[best_r]['mrr']:.3f} ({ev.METHOD_LABELS[best_r]}) "
            f"-> {'ahead on both' if ok else 'NOT ahead on both'}")
    return "Target check: " + "; ".join(verdicts) + ".\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cordis", action="store_true", help="also run the CORDIS benchmark")
    parser.add_argument("--no-seed-networks", action="store_true")
    parser.add_argument("--cuts", type=int, nargs="+", default=[2017, 2018, 2019])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    print(f"# partnermatch evaluation\n\nMachine: {platform.machine()}, "
          f"Python {platform.python_version()}.\n")
    if not args.no_seed_networks:
        run_seed_networks(args.seeds, args.fraction, k=5)
    if args.cordis:
        run_cordis(args.cuts, k=10)
    print(f"Total runtime: {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
