"""Consortium completion on CORDIS: given a test project's coordinator and programme part, rank
the organisations that could complete its consortium; the right answers are its real partners.

Link prediction (:mod:`matching.evaluation.cordis`) asks who will work with whom some day; this
asks what partnermatch is for: one coordinator, one project, who else should be in it.

Protocol, for one programme part P and a cut year:

- train graph: the projects of P starting before the cut (:func:`cordis_train_graph`);
- queries: the projects of P starting in ``[cut, end]`` whose coordinator and at least
  ``min_known`` other participants are nodes of the train graph (one query per project);
- candidates: every node of the train graph except the coordinator (existing partners of the
  coordinator included: consortia often bring partners back; nothing about the test period
  narrows the pool);
- positives: the project's other participants that are nodes of the train graph;
- every method scores the candidates from the coordinator alone (the same scores for two
  projects of one coordinator);
- companies: the same queries, candidates and positives restricted to private companies (PRC);
  a query without a company positive is left out of that subset.

Metrics: P@10, R@20 and MRR per query, then the mean; ties broken by one fixed random
permutation shared by every method (:func:`~matching.evaluation.ranking.rank_matrix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matching.evaluation.baselines import adjacency, link_prediction_scores, random_scores
from matching.evaluation.constants import LINK_PREDICTORS
from matching.evaluation.cordis import (
    COMPANY,
    CORDIS_END_YEAR,
    CordisData,
    cordis_projection,
    cordis_train_graph,
)
from matching.evaluation.uncertainty import compare_to_best_baseline, per_query_metrics
from matching.scoring import PartnerMatcher

#: Baselines of consortium completion: the link predictors from the coordinator, its past
#: partners first, and chance.
CONSORTIUM_BASELINES = (*LINK_PREDICTORS, "repeat_partners", "random")
CONSORTIUM_LABELS = {"repeat_partners": "past partners first (joint projects, then degree)",
                     "builder": "consortium builder (its picks, then what each could supply)",
                     "blend": "blend: builder with past partners first (weight on validation)",
                     "ranks": "query-rank ranker (pre-cut years pooled)"}


@dataclass
class ConsortiumTask:
    """The queries of one part and cut: ``nodes`` are the train graph's organisations (the
    candidates), ``coordinator[i]`` the node index of query i's coordinator, ``relevant[i]``
    the node indices of its other known participants, ``allowed[i]`` the candidates it ranks."""

    programme: str
    cut: int
    end: int
    graph: Any
    nodes: list[str]
    projects: list[str]
    coordinator: np.ndarray
    relevant: list[set[int]]
    allowed: np.ndarray
    is_company: np.ndarray  # per node

    @property
    def rows(self) -> np.ndarray:
        """The distinct coordinators (node indices), sorted: the rows of every score block."""
        return np.unique(self.coordinator)

    @property
    def query_rows(self) -> np.ndarray:
        """Per query, the row of its coordinator in the score blocks."""
        return np.searchsorted(self.rows, self.coordinator)

    def company_subset(self) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
        """(query mask, allowed, relevant) of the companies subset: candidates and positives
        restricted to companies, queries with at least one company positive."""
        relevant = [{j for j in r if self.is_company[j]} for r in self.relevant]
        mask = np.array([bool(r) for r in relevant], bool)
        allowed = self.allowed & self.is_company[None, :]
        return mask, allowed, relevant


def consortium_task(data: CordisData, cut: int, programme: str, end: int = CORDIS_END_YEAR,
                    min_known: int = 2) -> ConsortiumTask:
    """The consortium-completion queries of ``programme`` at ``cut`` (see the module doc)."""
    graph = cordis_train_graph(data, cut, programme)
    nodes = sorted(graph.nodes)
    index = {p: i for i, p in enumerate(nodes)}
    projects, coordinators, relevant = [], [], []
    for rcn in data.projects(cut, end, programme):
        coord = data.coordinator.get(rcn)
        if coord not in index:
            continue
        known = {index[p] for p in data.members[rcn] if p != coord and p in index}
        if len(known) < min_known:
            continue
        projects.append(rcn)
        coordinators.append(index[coord])
        relevant.append(known)
    coordinator = np.array(coordinators, np.int64)
    allowed = np.ones((len(projects), len(nodes)), bool)
    allowed[np.arange(len(projects)), coordinator] = False
    is_company = np.array([data.org_type[p] == COMPANY for p in nodes], bool)
    return ConsortiumTask(programme, cut, end, graph, nodes, projects, coordinator, relevant,
                          allowed, is_company)


def consortium_scores(data: CordisData, task: ConsortiumTask, seed: int = 0,
                      engine: bool = True) -> dict[str, np.ndarray]:
    """Per method, a ``len(task.rows) x len(nodes)`` block: row r scores every candidate from
    coordinator ``task.rows[r]``."""
    n = len(task.nodes)
    rows = task.rows
    coords = [task.nodes[i] for i in rows]
    out: dict[str, np.ndarray] = {}

    graph = _ordered(task.graph, task.nodes)
    index = {p: i for i, p in enumerate(task.nodes)}
    adj, _ = adjacency(graph)
    for method in LINK_PREDICTORS:
        out[method] = link_prediction_scores(graph, method, coords, task.nodes, adj)
    degree = np.asarray(adj.sum(axis=1)).ravel()
    joint = np.zeros((len(rows), n))
    for r, c in enumerate(coords):
        for nb, attrs in graph[c].items():
            joint[r, index[nb]] = attrs["weight"]
    out["repeat_partners"] = joint + degree[None, :] / (degree.max() + 1.0)
    out["random"] = random_scores(len(rows), n, seed)
    if engine:
        projection = cordis_projection(data, graph, task.cut, programme=task.programme)
        matcher = PartnerMatcher().fit(projection)
        idx = np.array([projection.member_index[v] for v in task.nodes])
        block = np.empty((len(rows), n))
        for start in range(0, len(rows), 256):
            r = idx[rows[start:start + 256]]
            score, _, _ = matcher.score_block(r, new_partners=False)  # partners stay rankable
            block[start:start + len(r)] = score[:, idx]
        out["engine"] = block
    return out


def _ordered(graph: Any, nodes: Sequence[str]) -> Any:
    """A copy of ``graph`` whose node order is ``nodes`` (the link predictors index by it)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from(graph.edges(data=True))
    return g


def consortium_metrics(task: ConsortiumTask, scores: np.ndarray, k: int = 10,
                       recall_k: int = 20, tie_seed: int = 0
                       ) -> dict[str, dict[str, np.ndarray]]:
    """``{"overall" | "companies": {"precision", "recall", "mrr": per-query arrays}}`` (P@k,
    R@recall_k, RR); the companies arrays cover the queries of :meth:`company_subset`."""
    out = {}
    mask, c_allowed, c_relevant = task.company_subset()
    for name, q, allowed, relevant in (
            ("overall", np.arange(len(task.projects)), task.allowed, task.relevant),
            ("companies", np.flatnonzero(mask), c_allowed[mask],
             [c_relevant[i] for i in np.flatnonzero(mask)])):
        rows = task.query_rows[q]
        at_k = per_query_metrics(scores, rows, allowed, relevant, k, tie_seed)
        at_r = per_query_metrics(scores, rows, allowed, relevant, recall_k, tie_seed)
        out[name] = {"precision": at_k["precision"], "recall": at_r["recall"],
                     "mrr": at_k["mrr"]}
    return out


def consortium_evaluation(data: CordisData, cut: int, programme: str, *, k: int = 10,
                          recall_k: int = 20, seed: int = 0, n_resamples: int = 1000,
                          engine: bool = True, builder: bool = False,
                          ranks: bool = False) -> dict[str, Any]:
    """Every method on one part and cut: ``{"task", "means": {subset: {method: {metric:
    mean}}}, "compare": {subset: engine minus best baseline}, "compare_methods": {method:
    {subset: ...}}}`` (by :func:`compare_to_best_baseline` on P@k and MRR and R@recall_k).

    With ``builder``, also the consortium builder (``"builder"``) and its blend with past
    partners first (``"blend"``, weight chosen on validation before the cut: ``"blend_weight"``,
    ``"validation"``), :mod:`matching.evaluation.consortium_builder`. With ``ranks``, also the
    query-rank ranker (``"ranks"``, fitted on the years before the cut: ``"ranker"``, or why
    not: ``"ranker_error"``), :mod:`matching.evaluation.consortium_ranks`."""
    from matching.evaluation import consortium_builder as cb

    task = consortium_task(data, cut, programme)
    scores = consortium_scores(data, task, seed, engine)
    weight, validation = None, []
    if builder:
        weight, validation = cb.select_blend_weight(data, cut, programme)
        scores["builder"] = cb.builder_scores(data, task)
        scores["blend"] = cb.blend(scores["builder"], scores["repeat_partners"], weight)
    ranker, ranker_error = None, None
    if ranks:
        from matching.evaluation import consortium_ranks as cr

        try:
            ranker = cr.fit_consortium_ranker(data, cut, programme, k=k, engine=engine,
                                              seed=seed)
            scores["ranks"] = ranker.score(cr.consortium_features(data, task, engine))
        except ValueError as exc:
            ranker_error = str(exc)
    per = {m: consortium_metrics(task, s, k, recall_k) for m, s in scores.items()}
    means = {sub: {m: {metric: float(v[sub][metric].mean()) if len(v[sub][metric])
                       else float("nan") for metric in ("precision", "recall", "mrr")}
                   for m, v in per.items()} for sub in ("overall", "companies")}
    compare_methods: dict[str, dict[str, Any]] = {}
    for method in [m for m in ("engine", "builder", "blend", "ranks") if m in per]:
        compare_methods[method] = {}
        for sub in ("overall", "companies"):
            if not len(per[method][sub]["mrr"]):
                continue
            compare_methods[method][sub] = compare_to_best_baseline(
                {m: v[sub] for m, v in per.items()}, method,
                [m for m in CONSORTIUM_BASELINES if m != "random"],
                metrics=("precision", "recall", "mrr"), n_resamples=n_resamples, seed=seed)
    return {"task": task, "means": means, "compare": compare_methods.get("engine", {}),
            "compare_methods": compare_methods, "blend_weight": weight,
            "validation": validation, "ranker": ranker, "ranker_error": ranker_error,
            "n_queries": {sub: len(per[next(iter(per))][sub]["mrr"])
                          for sub in ("overall", "companies")}}
