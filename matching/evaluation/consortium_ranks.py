"""A query-rank ranker for consortium completion (issue 14, the held-out test at cut 2020).

The same idea as :mod:`matching.evaluation.query_ranks`, on the task of
:mod:`matching.evaluation.consortium`: for a coordinator, every candidate's features become its
rank among the coordinator's candidates, so a model fitted on early years reads later, busier
graphs alike, and the years before the cut are pooled. The features are the coordinator's
history with the candidate (joint projects, partners in common), the candidate's activity, the
engine's hand score, and **complementarity a consortium can use**: how often the coordinator's
past consortia held the candidate's activity type and country (its habits), and whether the
candidate brings a type or a country the coordinator has never had beside it. The model learns
how much each counts, from the consortia formed before the cut.

Windows: year t = the projects of the part starting in t (queries as in the test: coordinator
and at least two other participants in the graph before t), features from the graph before t.
Validation on year cut - 1, candidate models fitted on every year from 2015 to cut - 2 pooled;
the chosen model (``logreg`` or ``hgb_small``) refitted on 2015 to cut - 1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.stats import rankdata

from matching.evaluation.baselines import adjacency, link_prediction_scores
from matching.evaluation.consortium import (
    ConsortiumTask,
    _ordered,
    consortium_metrics,
    consortium_task,
)
from matching.evaluation.cordis import ACTIVITY_TYPES, CordisData, _models, cordis_projection
from matching.evaluation.ranking import _log
from matching.scoring import PartnerMatcher

NODE_FEATURES = ("log_degree", "log_strength", "log_part_projects", "log_part_last1",
                 "log_part_last2", "log_all_projects", "years_since_last", "years_since_first",
                 "log_coordinated", *(f"type_{t}" for t in ACTIVITY_TYPES))
INDICATOR_NODE = tuple(f"type_{t}" for t in ACTIVITY_TYPES)
#: Pairs (coordinator, candidate): history, structure, the engine, the coordinator's habits.
PAIR_FEATURES = ("joint", "cn", "jaccard", "aa", "ra", "engine_hand_score", "type_share",
                 "country_share", "tied", "same_type", "same_country", "new_type",
                 "new_country")
INDICATOR_PAIR = ("tied", "same_type", "same_country", "new_type", "new_country")
_NODE_RANKED = np.array([n not in INDICATOR_NODE for n in NODE_FEATURES])
_PAIR_RANKED = np.array([n not in INDICATOR_PAIR for n in PAIR_FEATURES])
FEATURE_NAMES = ([f"coordinator_{n}" for n in NODE_FEATURES]
                 + [f"candidate_{n}" for n in NODE_FEATURES] + list(PAIR_FEATURES))
MODELS = ("logreg", "hgb_small")
FIRST_WINDOW = 2015  # the first year with a year of features before it (H2020 starts 2014)


@dataclass
class ConsortiumFeatures:
    """Features of one task: ``node`` (nodes x NODE_FEATURES), ``pair[name]`` (task.rows x
    nodes: from each distinct coordinator), all from projects before the task's cut."""

    task: ConsortiumTask
    node: np.ndarray
    pair: dict[str, np.ndarray]

    @cached_property
    def node_ranks(self) -> np.ndarray:
        """Each node's features as its rank among the task's nodes (indicators unchanged): the
        coordinator's side of every design row, computed once."""
        out = self.node.copy()
        out[:, _NODE_RANKED] = rankdata(out[:, _NODE_RANKED], axis=0) / len(out)
        return out


def consortium_features(data: CordisData, task: ConsortiumTask, engine: bool = True
                        ) -> ConsortiumFeatures:
    """Node and pair features of a consortium task, from projects before its cut only."""
    cut, nodes, graph = task.cut, task.nodes, _ordered(task.graph, task.nodes)
    n = len(nodes)
    index = {p: i for i, p in enumerate(nodes)}
    nodes_set = frozenset(nodes)
    part_years, all_years = defaultdict(list), defaultdict(list)
    coordinated = Counter()
    for rcn in data.projects(0, cut - 1):
        in_part = task.programme in data.parts.get(rcn, ())
        for pic in data.members[rcn] & nodes_set:
            all_years[pic].append(data.year[rcn])
            if in_part:
                part_years[pic].append(data.year[rcn])
                coordinated[pic] += data.coordinator.get(rcn) == pic
    node = np.zeros((n, len(NODE_FEATURES)))
    for i, pic in enumerate(nodes):
        py = part_years[pic]
        strength = sum(a["weight"] for a in graph[pic].values())
        node[i, :9] = [math.log1p(graph.degree(pic)), math.log1p(strength),
                       math.log1p(len(py)), math.log1p(sum(y == cut - 1 for y in py)),
                       math.log1p(sum(y >= cut - 2 for y in py)),
                       math.log1p(len(all_years[pic])), cut - max(py), cut - min(py),
                       math.log1p(coordinated[pic])]
        node[i, 9 + ACTIVITY_TYPES.index(data.org_type[pic])] = 1.0
    rows = task.rows
    coords = [nodes[i] for i in rows]
    adj, _ = adjacency(graph)
    pair = {name: link_prediction_scores(graph, method, coords, nodes, adj)
            for name, method in (("cn", "common_neighbors"), ("jaccard", "jaccard_coefficient"),
                                 ("aa", "adamic_adar_index"), ("ra", "resource_allocation_index"))}
    types = np.array([data.org_type[p] for p in nodes])
    countries = np.array([data.country[p] for p in nodes])
    joint = np.zeros((len(rows), n))
    type_share = np.zeros((len(rows), n))
    country_share = np.zeros((len(rows), n))
    for r, c in enumerate(coords):
        by_type, by_country = Counter(), Counter()
        for nb, attrs in graph[c].items():
            joint[r, index[nb]] = attrs["weight"]
            by_type[data.org_type[nb]] += attrs["weight"]
            by_country[data.country[nb]] += attrs["weight"]
        total = max(sum(by_type.values()), 1)
        type_share[r] = [by_type[t] / total for t in types]
        country_share[r] = [by_country[k] / total for k in countries]
    pair["joint"] = joint
    pair["type_share"] = type_share
    pair["country_share"] = country_share
    pair["tied"] = (joint > 0).astype(float)
    pair["same_type"] = (types[rows][:, None] == types[None, :]).astype(float)
    pair["same_country"] = (countries[rows][:, None] == countries[None, :]).astype(float)
    pair["new_type"] = (type_share == 0).astype(float)
    pair["new_country"] = (country_share == 0).astype(float)
    pair["engine_hand_score"] = np.zeros((len(rows), n))
    if engine:
        projection = cordis_projection(data, graph, cut, programme=task.programme)
        matcher = PartnerMatcher().fit(projection)
        idx = np.array([projection.member_index[v] for v in nodes])
        for start in range(0, len(rows), 256):
            r = idx[rows[start:start + 256]]
            score, _, _ = matcher.score_block(r, new_partners=False)
            block = score[:, idx]
            pair["engine_hand_score"][start:start + len(r)] = np.where(
                np.isfinite(block), block, 0.0)
    return ConsortiumFeatures(task, node, pair)


def design_block(features: ConsortiumFeatures, r: int) -> np.ndarray:
    """Design matrix of block row ``r`` (coordinator ``task.rows[r]``) against every node: the
    coordinator's node ranks among the task's nodes, then the candidate's node features and the
    pair features ranked among the coordinator's candidates (every node but itself; the
    coordinator's own column ranks last and is never scored); indicators unchanged."""
    task = features.task
    c = task.rows[r]
    n = len(task.nodes)
    others = np.ones(n, bool)
    others[c] = False
    candidate = features.node.copy()
    pair = np.stack([features.pair[name][r] for name in PAIR_FEATURES], axis=1)
    m = int(others.sum())
    if m:
        candidate[np.ix_(others, _NODE_RANKED)] = rankdata(
            candidate[np.ix_(others, _NODE_RANKED)], axis=0) / m
        pair[np.ix_(others, _PAIR_RANKED)] = rankdata(
            pair[np.ix_(others, _PAIR_RANKED)], axis=0) / m
    candidate[~others] = 0.0
    pair[~others] = 0.0
    query = np.broadcast_to(features.node_ranks[c], (n, features.node.shape[1]))
    return np.hstack([query, candidate, pair]).astype(np.float32)


def training_rows(features: ConsortiumFeatures, max_rows: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per query (project): its known partners as positives and a random sample of the other
    candidates as negatives, at most ``max_rows`` rows per task."""
    task = features.task
    rng = np.random.default_rng(seed)
    n = len(task.nodes)
    n_pos = sum(len(r) for r in task.relevant)
    total = len(task.projects) * (n - 1)
    keep_neg = min(1.0, max(0.0, (max_rows - n_pos) / max(total - n_pos, 1)))
    blocks: dict[int, np.ndarray] = {}
    xs, ys = [], []
    for qi, r in enumerate(task.query_rows):
        if r not in blocks:
            blocks[r] = design_block(features, r)
        y = np.zeros(n, bool)
        y[list(task.relevant[qi])] = True
        keep = task.allowed[qi] & (y | (rng.random(n) < keep_neg))
        xs.append(blocks[r][keep])
        ys.append(y[keep])
    return np.vstack(xs), np.concatenate(ys).astype(int)


def ranks_scores(model: Any, features: ConsortiumFeatures) -> np.ndarray:
    """``len(task.rows) x nodes`` scores of the model; the coordinator's own column 0."""
    task = features.task
    out = np.zeros((len(task.rows), len(task.nodes)))
    for r, c in enumerate(task.rows):
        out[r] = model.predict_proba(design_block(features, r))[:, 1]
        out[r, c] = 0.0
    return out


def selection_score(task: ConsortiumTask, scores: np.ndarray, k: int = 10) -> float:
    """(P@10 + MRR overall + P@10 + MRR companies) / 2; with no company query the overall
    figures count twice."""
    per = consortium_metrics(task, scores, k)

    def part(sub: str) -> float:
        return float(per[sub]["precision"].mean() + per[sub]["mrr"].mean())
    return (part("overall") + (part("companies") if len(per["companies"]["mrr"])
                               else part("overall"))) / 2


@dataclass
class ConsortiumRanker:
    model: Any
    model_name: str
    validation_year: int
    validation_train_years: tuple[int, ...]
    train_years: tuple[int, ...]
    validation_scores: dict[str, float]
    validation_queries: int

    def score(self, features: ConsortiumFeatures) -> np.ndarray:
        return ranks_scores(self.model, features)


def fit_consortium_ranker(data: CordisData, cut: int, programme: str, *,
                          models: Sequence[str] = MODELS, k: int = 10, engine: bool = True,
                          max_rows: int = 150_000, seed: int = 0) -> ConsortiumRanker:
    """Select and fit the ranker for test cut ``cut`` of ``programme`` on years before it only
    (see the module doc). Years without a query are skipped; raises ``ValueError`` when the
    validation year or every training year has none."""
    years: dict[int, ConsortiumFeatures | None] = {}

    def year(t: int) -> ConsortiumFeatures | None:
        if t not in years:
            task = consortium_task(data, t, programme, end=t)
            years[t] = consortium_features(data, task, engine) if task.projects else None
            _log(f"  consortium year {t}: {len(task.projects)} queries")
        return years[t]

    def pooled(ts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        parts = [training_rows(year(t), max_rows, seed) for t in ts]
        return np.vstack([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    val = year(cut - 1)
    train = tuple(t for t in range(FIRST_WINDOW, cut - 1) if year(t) is not None)
    if val is None or not train:
        raise ValueError(f"{programme} cut {cut}: no query in the validation year {cut - 1} "
                         f"or in any training year {FIRST_WINDOW}-{cut - 2}")
    X, y = pooled(train)
    scores = {name: selection_score(val.task, ranks_scores(_models(seed)[name].fit(X, y), val),
                                    k) for name in models}
    best = max(models, key=lambda m: scores[m])  # first maximum: the order of ``models``
    final = (*train, cut - 1)
    X, y = pooled(final)
    return ConsortiumRanker(_models(seed)[best].fit(X, y), best, cut - 1, train, final, scores,
                            len(val.task.projects))
