"""Evaluate partner suggestions: seed networks (random hold-out) and CORDIS H2020 (temporal).

    python benchmarks/evaluate.py                      # seed networks only
    python benchmarks/evaluate.py --cordis             # and CORDIS at cuts 2017 2018 2019
    python benchmarks/evaluate.py --cordis --cuts 2018 --seeds 0 1 2 3 4
    python benchmarks/evaluate.py --cordis --no-seed-networks --part SC4 --cuts 2018
    python benchmarks/evaluate.py --no-seed-networks --all-parts   # 9 parts at 2018, one table
    python benchmarks/evaluate.py --no-seed-networks --all-parts --gated   # and the gated blend
    python benchmarks/evaluate.py --no-seed-networks --all-parts --horizon  # horizon-matched
    python benchmarks/evaluate.py --no-seed-networks --all-parts --cuts 2020 --query-ranks
    python benchmarks/evaluate.py --no-seed-networks --other-parts --query-ranks  # 7 more parts
    python benchmarks/evaluate.py --no-seed-networks --consortium --all-parts  # consortia
    python benchmarks/evaluate.py --no-seed-networks --consortium --builder --no-engine --part SC4

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
# beside the checkout (/work/main -> /work/shared) or beside a worktree's parent (/work/wt/hN)
CORDIS_DIR = next((d / "shared" / "data" / "cordis-h2020" for d in (ROOT.parent, ROOT.parents[1])
                   if (d / "shared" / "data" / "cordis-h2020").is_dir()),
                  ROOT.parent / "shared" / "data" / "cordis-h2020")
ORDER = (*ev.LINK_PREDICTORS, "text", "random", "engine", "engine_learned", "engine_gated",
         "engine_horizon", "engine_query_ranks")


PARTS = ("SC1", "SC2", "SC3", "SC4", "SC5", "SC6", "SC7", "LEIT", "Innovation in SMEs")
#: The other parts with new pairs to predict at cut 2018 (ARF has 13 projects): never run for
#: issue 14's target, so they test a method fixed on the nine above out of sample.
OTHER_PARTS = ("MSCA", "ERC", "FET", "RI", "SWAFS", "Euratom", "SEWP")
BASELINES = (*ev.LINK_PREDICTORS, "text", "random")


def table(results: dict[str, dict[str, float]], k: int, title: str,
          spread: dict[str, dict[str, tuple[float, float]]] | None = None) -> str:
    """One markdown table; with ``spread`` (method -> metric -> (min, max) over tie orders) the
    P@k and MRR cells of the methods in it show the range after the value."""
    def cell(method: str, metric: str) -> str:
        value = f"{results[method][metric]:.3f}"
        if spread and method in spread and metric in spread[method]:
            lo, hi = spread[method][metric]
            value += f" ({lo:.3f}-{hi:.3f})"
        return value

    lines = [f"**{title}**", "",
             f"| method | P@{k} | R@{k} | MRR | NDCG@{k} | ROC-AUC |", "|---|---|---|---|---|---|"]
    for method in ORDER:
        if method in results:
            m = results[method]
            lines.append(f"| {ev.METHOD_LABELS[method]} | {cell(method, 'precision')} | "
                         f"{m['recall']:.3f} | {cell(method, 'mrr')} | {m['ndcg']:.3f} | "
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


def uncertainty(data: ev.CordisData, out: dict, k: int, tie_seeds: list[int],
                n_resamples: int) -> dict:
    """Tie-order spread of every baseline and the paired bootstrap of the engine's learned
    ranker (the hand score when there is none) and of the gated blend (when run) minus the
    best baseline, per subset."""
    split, scores = out["split"], out["scores"]
    is_company = np.array([data.org_type[split.candidates[q]] == ev.COMPANY
                           for q in split.queries], bool)
    subsets = {"overall": np.ones(len(split.queries), bool), "companies": is_company}
    spread: dict[str, dict] = {"overall": {}, "companies": {}}
    for method in BASELINES:
        s = ev.tie_order_spread(scores[method], split.queries, split.allowed, split.relevant,
                                subsets, k, tie_seeds)
        for name in subsets:
            spread[name][method] = s[name]
    engines = ["engine_learned" if "engine_learned" in scores else "engine"]
    engines += [m for m in ("engine_gated", "engine_horizon", "engine_query_ranks")
                if m in scores]
    per_query = {m: ev.per_query_metrics(scores[m], split.queries, split.allowed,
                                         split.relevant, k) for m in (*BASELINES, *engines)}
    compare = {engine: {name: ev.compare_to_best_baseline(per_query, engine, BASELINES, mask,
                                                          n_resamples=n_resamples)
                        for name, mask in subsets.items()} for engine in engines}
    return {"spread": spread, "compare": compare, "methods": engines}


def verdict(cmp: dict) -> str:
    """The issue's target for one cell: point estimate ahead on P@10 and MRR, and the interval
    of at least one of them above 0."""
    p, m = cmp["precision"], cmp["mrr"]
    if p["diff"] > 0 and m["diff"] > 0:
        return "ahead, target met" if max(p["low"], m["low"]) > 0 else "ahead, not significant"
    behind = [name for name, c in (("P@10", p), ("MRR", m)) if c["diff"] <= 0]
    sig = [name for name, c in (("P@10", p), ("MRR", m)) if c["high"] < 0]
    return (f"behind on {' and '.join(behind)}"
            + (f" (significantly on {' and '.join(sig)})" if sig else ""))


def interval(c: dict) -> str:
    return f"{c['diff']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]"


def run_cordis(cuts: list[int], k: int, parts: list[str], detail: bool, tie_seeds: list[int],
               n_resamples: int, gated: bool = False, horizon: bool = False,
               query_ranks: bool = False) -> None:
    if not (CORDIS_DIR / "h2020.csv.gz").exists():
        print(f"CORDIS data not found at {CORDIS_DIR}; skipped.\n")
        return
    data = ev.cordis_load(CORDIS_DIR)
    summary = []
    for part in parts:
        print(f"## CORDIS H2020 {part}, temporal protocol\n")
        for cut in cuts:
            t0 = time.perf_counter()
            out = ev.cordis_evaluation(data, cut, k=k, programme=part, gated=gated,
                                       horizon=horizon, query_ranks=query_ranks)
            split, ranker = out["split"], out["ranker"]
            unc = uncertainty(data, out, k, tie_seeds, n_resamples)
            seconds = time.perf_counter() - t0
            companies = sum(data.org_type[split.candidates[q]] == ev.COMPANY
                            for q in split.queries)
            print(f"### {part}, cut {cut}: train < {cut}, test {cut}-{split.end}\n")
            print(f"{len(split.queries)} queries ({companies} companies), "
                  f"{len(split.candidates)} candidates, {len(split.positives)} positives; "
                  f"{seconds:.0f} s.")
            if ranker is None:
                print(f"No learned ranker: {out['ranker_error']}. The comparison below uses the "
                      "engine's hand score.")
            else:
                print(f"Learned ranker: `{ranker.name}` blended with PA (w = "
                      f"{ranker.blend_weight:.1f}), labels {ranker.train_window[0]}-"
                      f"{ranker.train_window[1]} (horizon {ranker.horizon}).")
                if ranker.skipped_windows:
                    print("Pre-cut windows skipped (no query): " + ", ".join(
                        f"{t}-{t + h - 1}" for t, h in ranker.skipped_windows) + ".")
            print(f"\nBaselines' P@{k} and MRR: value at tie order 0 (range over tie orders "
                  f"{tie_seeds}).\n")
            for name in ("overall", "companies"):
                print(table(out["results"][name], k, f"{part} cut {cut}, {name}",
                            unc["spread"][name]))
            for method in unc["methods"]:
                label = ev.METHOD_LABELS[method]
                for name in ("overall", "companies"):
                    cmp = unc["compare"][method][name]
                    print(f"- {name}: {label} minus best baseline (paired bootstrap over "
                          f"queries, {n_resamples} resamples, 95%): P@{k} "
                          f"{interval(cmp['precision'])} vs "
                          f"{ev.METHOD_LABELS[cmp['precision']['baseline']]}, MRR "
                          f"{interval(cmp['mrr'])} vs "
                          f"{ev.METHOD_LABELS[cmp['mrr']['baseline']]}: {verdict(cmp)}.")
            print()
            if out.get("gate") is not None:
                print_gate(out["gate"])
            if horizon:
                print_horizon(out["horizon"], out["horizon_error"])
            if query_ranks:
                print_query_ranks(out["query_ranks"], out["query_ranks_error"])
            if detail and ranker is not None:
                print_validation(ranker)
            summary.append((part, cut, split, companies, unc))
            sys.stdout.flush()
    if len(summary) > 1:
        print_summary(summary, k)


def print_validation(ranker) -> None:
    windows = ", ".join(f"{t}-{t + v - 1}" for t, v in ranker.validation_windows)
    print(f"Model selection on the new pairs of {windows} (features before each window's first "
          "year); score = mean over windows of (P@10 + MRR overall + P@10 + MRR companies) / 2, "
          "at each candidate's best blend weight:\n")
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


def run_consortium(cuts: list[int], parts: list[str], n_resamples: int, engine: bool = True,
                   builder: bool = False, ranks: bool = False) -> None:
    """Consortium completion (matching/evaluation/consortium.py) per part and cut."""
    from matching.evaluation import consortium as cs

    if not (CORDIS_DIR / "h2020.csv.gz").exists():
        print(f"CORDIS data not found at {CORDIS_DIR}; skipped.\n")
        return
    data = ev.cordis_load(CORDIS_DIR)
    labels = {**ev.METHOD_LABELS, **cs.CONSORTIUM_LABELS}
    for part in parts:
        for cut in cuts:
            t0 = time.perf_counter()
            out = cs.consortium_evaluation(data, cut, part, n_resamples=n_resamples,
                                           engine=engine, builder=builder, ranks=ranks)
            task, n = out["task"], out["n_queries"]
            print(f"## Consortium completion, {part}, cut {cut}: projects {cut}-{task.end}\n")
            print(f"{n['overall']} projects (queries; {n['companies']} with a company partner), "
                  f"{len(task.nodes)} candidates, "
                  f"{sum(len(r) for r in task.relevant)} positives; "
                  f"{time.perf_counter() - t0:.0f} s.\n")
            print("| method | P@10 | R@20 | MRR | P@10 companies | R@20 companies | "
                  "MRR companies |")
            print("|---|---|---|---|---|---|---|")
            for method in [m for m in (*cs.CONSORTIUM_BASELINES, "engine", "builder", "blend",
                                       "ranks")
                           if m in out["means"]["overall"]]:
                o, c = out["means"]["overall"][method], out["means"]["companies"][method]
                print(f"| {labels[method]} | {o['precision']:.3f} | {o['recall']:.3f} | "
                      f"{o['mrr']:.3f} | {c['precision']:.3f} | {c['recall']:.3f} | "
                      f"{c['mrr']:.3f} |")
            print()
            if out["blend_weight"] is not None:
                print(f"Blend weight of the builder {out['blend_weight']:g}, chosen on "
                      f"validation (projects starting in {cut - 1}, graph before {cut - 1}): " +
                      ", ".join(f"w {t['weight']:g}: P@10 {t['precision']:.3f} MRR "
                                f"{t['mrr']:.3f}" for t in out["validation"]) +
                      (f" ({out['validation'][0]['queries']} projects)." if out["validation"]
                       else "no validation project: weight 0.") + "\n")
            if ranks:
                r = out["ranker"]
                print(f"No query-rank ranker: {out['ranker_error']}.\n" if r is None else
                      f"Query-rank ranker: validated on the projects of {r.validation_year} "
                      f"({r.validation_queries}) with models fitted on "
                      f"{', '.join(map(str, r.validation_train_years))}; validation score "
                      + ", ".join(f"`{m}` {v:.3f}" for m, v in r.validation_scores.items())
                      + f"; chose `{r.model_name}`, refitted on "
                      f"{', '.join(map(str, r.train_years))}.\n")
            for method, compare in out["compare_methods"].items():
                for sub, cmp in compare.items():
                    print(f"- {sub}: {method} minus best baseline (paired bootstrap, "
                          f"{n_resamples} resamples, 95%): " + "; ".join(
                              f"{name} {interval(cmp[m])} vs {labels[cmp[m]['baseline']]}"
                              for m, name in (("precision", "P@10"), ("recall", "R@20"),
                                              ("mrr", "MRR"))) + ".")
            print()
            sys.stdout.flush()


def print_gate(gate) -> None:
    """The gate's choices, all made on pre-cut validation windows."""
    lo, hi = gate.thresholds
    names = ("degree <= " + f"{lo:g}", f"{lo:g} < degree <= {hi:g}", f"degree > {hi:g}")
    print("Gated blend (weights chosen per query group on the pre-cut validation windows; "
          "score = (P@10 + MRR + P@10 + MRR companies) / 2, mean over windows):\n")
    print("| query group (pre-cut degree) | validation queries per window | "
          + " | ".join(ev.GATE_COMPONENTS) + " | score | score of PA alone |")
    print("|---|---|" + "---|" * len(ev.GATE_COMPONENTS) + "---|---|")
    for name, row in zip(names, gate.validation):
        print(f"| {name} | {', '.join(map(str, row['queries']))} | "
              + " | ".join(f"{row['weights'][c]:.2f}" for c in ev.GATE_COMPONENTS)
              + f" | {row['score']:.3f} | {row['score_pa_only']:.3f} |")
    print()


def print_horizon(ranker, error: str | None) -> None:
    """The horizon-matched ranker's choices, all made on one pre-cut validation window."""
    if ranker is None:
        print(f"No horizon-matched ranker: {error}.\n")
        return
    c = ranker.choice
    (tv, v), (tt, h), (tf, hf) = (ranker.validation_window, ranker.validation_train_window,
                                  ranker.train_window)
    print(f"Horizon-matched ranker: test horizon {ranker.test_horizon} year(s); validated on "
          f"the new pairs of {tv}-{tv + v - 1} ({ranker.validation_queries} queries), model "
          f"fitted on labels {tt}-{tt + h - 1}; final fit on labels {tf}-{tf + hf - 1}. "
          f"Chose `{c.model}` blended with {ev.METHOD_LABELS[c.baseline]} at w = "
          f"{c.weight:.1f} (validation score {c.score:.3f}).")
    if ranker.skipped_windows:
        print("Windows skipped (no query): " + ", ".join(
            f"{t}-{t + hh - 1}" for t, hh in ranker.skipped_windows) + ".")
    print("\nValidation score of each baseline alone: " + ", ".join(
        f"{ev.METHOD_LABELS[b]} {s:.3f}" for b, s in c.baseline_scores.items()) + "; "
        + "; ".join(f"`{m}` at w = 0 {s[0.0]:.3f}, best {max(s.values()):.3f} at w = "
                    f"{max(s, key=lambda w: (s[w], -w)):.1f}"
                    for m, s in c.model_scores.items()) + ".\n")


def print_query_ranks(ranker, error: str | None) -> None:
    """The query-rank ranker's windows and its one choice (the model), made before the cut."""
    if ranker is None:
        print(f"No query-rank ranker: {error}.\n")
        return
    t, h = ranker.validation_window

    def years(windows) -> str:
        return ", ".join(f"{a}" if h == 1 else f"{a}-{a + h - 1}" for a, _ in windows)

    scores = ", ".join(f"`{m}` {s:.3f}" for m, s in ranker.validation_scores.items())
    print(f"Query-rank ranker: horizon {h}; validated on the new pairs of {years([(t, h)])} "
          f"({ranker.validation_queries} queries) with models fitted on "
          f"{years(ranker.validation_train_windows)}; validation score {scores}; chose "
          f"`{ranker.model_name}`, refitted on {years(ranker.train_windows)}.")
    if ranker.skipped_windows:
        print("Windows skipped (no query): " + ", ".join(
            f"{a}-{a + hh - 1}" for a, hh in ranker.skipped_windows) + ".")
    print()


def print_summary(summary: list, k: int) -> None:
    print(f"## Every part: engine minus the best baseline (paired bootstrap 95%)\n")
    print(f"| part | cut | subset | queries | method | P@{k} | best baseline P@{k} | "
          f"difference [95%] | MRR | best baseline MRR | difference [95%] | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    met: dict[str, int] = {}
    for part, cut, split, companies, unc in summary:
        for method in unc["methods"]:
            for name in ("overall", "companies"):
                cmp = unc["compare"][method][name]
                p, m = cmp["precision"], cmp["mrr"]
                v = verdict(cmp)
                met[method] = met.get(method, 0) + (v == "ahead, target met")
                n = len(split.queries) if name == "overall" else companies
                print(f"| {part} | {cut} | {name} | {n} | {ev.METHOD_LABELS[method]} | "
                      f"{p['method_value']:.3f} | {p['baseline_value']:.3f} "
                      f"({ev.METHOD_LABELS[p['baseline']]}) | {interval(p)} | "
                      f"{m['method_value']:.3f} | {m['baseline_value']:.3f} "
                      f"({ev.METHOD_LABELS[m['baseline']]}) | {interval(m)} | {v} |")
    for method, count in met.items():
        print(f"\n{ev.METHOD_LABELS[method]}: target met (ahead on both, one interval above 0) "
              f"in {count} of {2 * len(summary)} cells.")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cordis", action="store_true", help="also run the CORDIS benchmark")
    parser.add_argument("--no-seed-networks", action="store_true")
    parser.add_argument("--cuts", type=int, nargs="+", default=[2017, 2018, 2019])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--part", nargs="+", default=["SC1"], choices=PARTS + OTHER_PARTS,
                        metavar="PART", help="CORDIS programme part(s), one of "
                                             f"{', '.join(PARTS + OTHER_PARTS)}")
    parser.add_argument("--other-parts", action="store_true",
                        help=f"the parts outside issue 14's nine: {', '.join(OTHER_PARTS)}")
    parser.add_argument("--all-parts", action="store_true",
                        help="every part at cut 2018 (or --cuts) and one summary table")
    parser.add_argument("--tie-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--consortium", action="store_true",
                        help="consortium completion per --part (or every part with "
                             "--all-parts) and --cuts, instead of link prediction")
    parser.add_argument("--gated", action="store_true",
                        help="also the per-query gated blend (matching/evaluation/gate.py)")
    parser.add_argument("--horizon", action="store_true",
                        help="also the horizon-matched ranker (matching/evaluation/horizon.py)")
    parser.add_argument("--query-ranks", action="store_true",
                        help="also the query-rank ranker (matching/evaluation/query_ranks.py; "
                             "with --consortium, matching/evaluation/consortium_ranks.py)")
    parser.add_argument("--builder", action="store_true",
                        help="with --consortium: also the consortium builder and its blend "
                             "with past partners (matching/evaluation/consortium_builder.py)")
    parser.add_argument("--no-engine", action="store_true",
                        help="with --consortium: leave the engine's hand score out")
    args = parser.parse_args(argv)
    if args.all_parts or args.other_parts:
        args.cordis, args.part = True, list(PARTS if args.all_parts else OTHER_PARTS)
        if args.cuts == parser.get_default("cuts"):
            args.cuts = [2018]
    t0 = time.perf_counter()
    print(f"# partnermatch evaluation\n\nMachine: {platform.machine()}, "
          f"Python {platform.python_version()}.\n")
    if not args.no_seed_networks:
        run_seed_networks(args.seeds, args.fraction, k=5)
    if args.consortium:
        run_consortium(args.cuts, args.part, args.resamples, not args.no_engine, args.builder,
                       args.query_ranks)
    elif args.cordis:
        run_cordis(args.cuts, 10, args.part, not args.all_parts, args.tie_seeds,
                   args.resamples, args.gated, args.horizon, args.query_ranks)
    print(f"Total runtime: {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
