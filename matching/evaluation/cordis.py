"""Protocol 2: the temporal CORDIS H2020 health benchmark, with the engine's learned ranker."""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from matching.evaluation.baselines import adjacency, link_prediction_scores, text_scores
from matching.evaluation.holdout import all_method_scores
from matching.evaluation.ranking import (
    _log,
    _pair_scores,
    evaluate_scores,
    roc_auc,
    sample_negative_pairs,
)
from matching.projection import NetworkProjection, build_projection
from matching.ranker import LEARNED_FEATURES
from matching.scoring import PartnerMatcher

CORDIS_END_YEAR = 2021  # test projects start in [cut, 2021]; 2022 is 7 rows of an unfinished year
HEALTH = "SC1"
COMPANY = "PRC"
ACTIVITY_TYPES = ("PRC", "HES", "REC", "PUB", "OTH")
PROGRAMME_LABELS = {
    "ERC": "European Research Council frontier research",
    "FET": "Future and emerging technologies",
    "MSCA": "Marie Sklodowska-Curie actions researcher mobility training",
    "RI": "Research infrastructures",
    "LEIT": "Industrial leadership enabling technologies",
    "ARF": "Access to risk finance",
    "Innovation in SMEs": "Innovation in small and medium enterprises",
    "SC1": "Health demographic change and wellbeing",
    "SC2": "Food security bioeconomy agriculture marine",
    "SC3": "Secure clean efficient energy",
    "SC4": "Smart green integrated transport",
    "SC5": "Climate action environment resources raw materials",
    "SC6": "Inclusive innovative reflective societies",
    "SC7": "Secure societies",
    "SEWP": "Spreading excellence widening participation",
    "SWAFS": "Science with and for society",
    "JRC": "Joint Research Centre",
    "EIT": "European Institute of Innovation and Technology",
    "Euratom": "Euratom nuclear research",
}
TYPE_LABELS = {"PRC": "private company", "HES": "higher education", "REC": "research organisation",
               "PUB": "public body", "OTH": "other organisation"}


@dataclass
class CordisData:
    """The CORDIS extract in memory: projects, their programme parts and the organisations."""

    year: dict[str, int]  # rcn -> start year
    members: dict[str, frozenset[str]]  # rcn -> participating pics
    parts: dict[str, frozenset[str]]  # rcn -> programme parts
    coordinator: dict[str, str]  # rcn -> pic of the coordinator (when given)
    org_type: dict[str, str]
    country: dict[str, str]
    group: dict[str, str]  # pic -> eu15 / eu13 / ac / tc

    def projects(self, start: int, end: int, programme: str | None = None) -> list[str]:
        """Projects starting in ``[start, end]`` (in ``programme`` when given), sorted by rcn."""
        return sorted(r for r, y in self.year.items() if start <= y <= end
                      and (programme is None or programme in self.parts.get(r, ())))


def cordis_load(data_dir: str | Path) -> CordisData:
    """Read ``h2020.csv.gz`` and ``programme_parts.csv.gz`` (csv + gzip, no pandas)."""
    data_dir = Path(data_dir)
    year: dict[str, int] = {}
    members: dict[str, set[str]] = defaultdict(set)
    coordinator: dict[str, str] = {}
    org_type: dict[str, str] = {}
    country: dict[str, str] = {}
    group: dict[str, str] = {}
    with gzip.open(data_dir / "h2020.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            rcn, pic = row["rcn"], row["pic"]
            org_type[pic] = row["type"]
            country[pic] = row["country"]
            group[pic] = row["group"]
            if not row["start_year"].isdigit():  # 7 rows without dates: not placeable in time
                continue
            year[rcn] = int(row["start_year"])
            members[rcn].add(pic)
            if row["role"] == "coordinator":
                coordinator[rcn] = pic
    parts: dict[str, set[str]] = defaultdict(set)
    with gzip.open(data_dir / "programme_parts.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            parts[row["rcn"]].add(row["programme_part"])
    return CordisData(year, {r: frozenset(m) for r, m in members.items()},
                      {r: frozenset(p) for r, p in parts.items()}, coordinator, org_type,
                      country, group)


@dataclass
class CordisSplit:
    """One temporal split: the train graph before ``cut`` and the new pairs of ``[cut, end]``.

    ``candidates`` are the organisations in the train graph that also take part in a health
    project of the test period; ``queries`` those with at least one positive; ``relevant[i]`` the
    candidate indices that are new partners of ``queries[i]``; ``allowed[i]`` which candidates
    query i ranks (not itself, not a train partner).
    """

    cut: int
    end: int
    graph: nx.Graph
    candidates: list[str]
    queries: list[int]
    relevant: list[set[int]]
    allowed: np.ndarray
    positives: list[tuple[int, int]]
    negatives: list[tuple[int, int]]
    programme: str = HEALTH

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.candidates)}


def cordis_train_graph(data: CordisData, cut: int, programme: str = HEALTH) -> nx.Graph:
    """Projects of ``programme`` (a programme part) starting before ``cut``: every participant a node, every pair of a
    project's participants an edge (``weight`` = joint projects, ``first`` = first year)."""
    graph = nx.Graph()
    for rcn in data.projects(0, cut - 1, programme):
        pics = sorted(data.members[rcn])
        graph.add_nodes_from(pics)
        for a, b in itertools.combinations(pics, 2):
            if graph.has_edge(a, b):
                graph[a][b]["weight"] += 1
                graph[a][b]["first"] = min(graph[a][b]["first"], data.year[rcn])
            else:
                graph.add_edge(a, b, weight=1, first=data.year[rcn])
    return graph


def cordis_split(data: CordisData, cut: int, end: int = CORDIS_END_YEAR,
                 programme: str = HEALTH, negative_seed: int = 0) -> CordisSplit:
    """The README protocol for one cut year.

    1. Train graph: :func:`cordis_train_graph` (projects starting before ``cut``).
    2. Positives: pairs sharing a project that starts in ``[cut, end]``, not tied in the train
       graph, both nodes of the train graph.
    3. Candidates: train-graph organisations that take part in a test project; queries:
       candidates with a positive.
    4. ROC-AUC negatives: as many random candidate pairs, neither tied in the train graph nor
       positive (seed ``negative_seed``).
    """
    graph = cordis_train_graph(data, cut, programme)
    test = data.projects(cut, end, programme)
    active = {p for rcn in test for p in data.members[rcn]}
    candidates = sorted(active & set(graph.nodes))
    index = {c: i for i, c in enumerate(candidates)}
    pos: set[tuple[int, int]] = set()
    for rcn in test:
        pics = sorted(p for p in data.members[rcn] if p in index)
        for a, b in itertools.combinations(pics, 2):
            if not graph.has_edge(a, b):
                pos.add((index[a], index[b]))
    relevant: dict[int, set[int]] = defaultdict(set)
    for a, b in pos:
        relevant[a].add(b)
        relevant[b].add(a)
    queries = sorted(relevant)
    n = len(candidates)
    allowed = np.ones((len(queries), n), bool)
    for qi, q in enumerate(queries):
        allowed[qi, q] = False
        for nb in graph.neighbors(candidates[q]):
            if nb in index:
                allowed[qi, index[nb]] = False
    tied = {(min(index[a], index[b]), max(index[a], index[b])) for a, b in graph.edges()
            if a in index and b in index}
    negatives = sample_negative_pairs(n, tied | pos, len(pos), negative_seed)
    return CordisSplit(cut, end, graph, candidates, queries, [relevant[q] for q in queries],
                       allowed, sorted(pos), negatives, programme)


def cordis_programme_documents(data: CordisData, pics: Sequence[str], cut: int) -> list[list[str]]:
    """Per organisation, the programme parts of its H2020 projects starting before ``cut``
    (one token per project and part): the documents of the TF-IDF baseline."""
    wanted = set(pics)
    docs: dict[str, list[str]] = {p: [] for p in pics}
    for rcn in data.projects(0, cut - 1):
        for pic in data.members[rcn] & wanted:
            docs[pic].extend(sorted(data.parts.get(rcn, ())))
    return [docs[p] for p in pics]


def cordis_baseline_scores(data: CordisData, split: CordisSplit,
                           seed: int = 0) -> dict[str, np.ndarray]:
    """Candidate x candidate scores of the link predictors, TF-IDF of programme parts, random."""
    docs = cordis_programme_documents(data, split.candidates, split.cut)
    return all_method_scores(split.graph, split.candidates, docs, seed=seed)


def cordis_summaries(data: CordisData, split: CordisSplit, scores: Mapping[str, np.ndarray],
                     k: int = 10, tie_seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """``{"overall" | "companies": {method: metrics}}`` for score matrices over candidates.

    Companies: queries of activity type PRC; their ROC-AUC uses the positive and negative
    pairs with at least one company.
    """
    is_company = [data.org_type[c] == COMPANY for c in split.candidates]
    labels = [is_company[q] for q in split.queries]
    company_pairs = tuple([p for p in pairs if is_company[p[0]] or is_company[p[1]]]
                          for pairs in (split.positives, split.negatives))
    out: dict[str, dict[str, dict[str, float]]] = {"overall": {}, "companies": {}}
    for method, s in scores.items():
        res = evaluate_scores(s, split.queries, split.allowed, split.relevant,
                              (split.positives, split.negatives), k, tie_seed, labels)
        out["overall"][method] = res.summary()
        company = res.summary(lambda lab: bool(lab))
        company["roc_auc"] = roc_auc(*(_pair_scores(s, p) for p in company_pairs))
        out["companies"][method] = company
    return out


# ---------------------------------------------------------------------------------------------
# The engine on CORDIS: organisations as members, a ranker learned before the cut
# ---------------------------------------------------------------------------------------------
def _level(count: float) -> int:
    """Participation count -> level 1-5: 1, 2-3, 4-7, 8-15, 16+ (log2 bins)."""
    return int(min(5, 1 + math.floor(math.log2(max(count, 1)))))


def cordis_taxonomy(data: CordisData, cut: int | None = None) -> list[dict[str, Any]]:
    """A small taxonomy: roots ``programme``, ``activity-type`` and ``country``; programme parts
    under ``programme``; countries under their group (eu15, eu13, ac, tc) under ``country``.

    With ``cut``, only the programme parts, countries and groups of projects starting before
    ``cut`` (any programme) appear: the taxonomy's size and shape shape the engine's scores, so
    a country first seen in the test period must not be in it (it was: 19 codes at cut 2019).
    """
    if cut is not None:
        before = data.projects(0, cut - 1)
        pics = {p for rcn in before for p in data.members[rcn]}
        parts = sorted({p for rcn in before for p in data.parts.get(rcn, ())})
    else:
        pics = set(data.country)
        parts = sorted({p for ps in data.parts.values() for p in ps})
    rows = [{"id": "programme", "label": "H2020 programme area", "kind": "knowhow"},
            {"id": "activity-type", "label": "Kind of organisation", "kind": "service"},
            {"id": "country", "label": "Country", "kind": "asset"}]
    rows += [{"id": f"prog:{p}", "label": PROGRAMME_LABELS.get(p, p), "kind": "knowhow",
              "broader": "programme", "synonyms": [p]} for p in parts]
    rows += [{"id": f"type:{t}", "label": TYPE_LABELS[t], "kind": "service",
              "broader": "activity-type", "synonyms": [t]} for t in ACTIVITY_TYPES]
    groups = sorted({data.group[p] for p in pics})
    rows += [{"id": f"group:{g}", "label": f"country group {g}", "kind": "asset",
              "broader": "country"} for g in groups]
    by_country = {data.country[p]: data.group[p] for p in sorted(pics)}
    rows += [{"id": f"country:{c}", "label": f"located in {c}", "kind": "asset",
              "broader": f"group:{by_country[c]}"} for c in sorted(by_country)]
    return rows


def cordis_projection(data: CordisData, graph: nx.Graph, cut: int,
                      max_needs: int = 8, programme: str = HEALTH) -> NetworkProjection:
    """The train graph as a partnermatch network, using only projects starting before ``cut``.

    - members: the train graph's organisations; ``sector`` = activity type, ``region`` = country;
    - capabilities: activity type and country (level 5), each programme part of its H2020
      projects before the cut (level from the count, :func:`_level`);
    - needs (kind ``partner``): the capabilities its past partners (in ``programme``) brought most often
      (up to ``max_needs`` with a share >= 0.1, urgency 1 + 4 x share): what it looks for;
    - ties: COLLABORATES_WITH per train-graph edge, weight min(1, joint projects / 3).
    """
    pics = sorted(graph.nodes)
    wanted = set(pics)
    part_counts: dict[str, Counter] = {p: Counter() for p in pics}
    for rcn in data.projects(0, cut - 1):
        for pic in data.members[rcn] & wanted:
            part_counts[pic].update(data.parts.get(rcn, ()))
    caps: dict[str, list[dict[str, Any]]] = {}
    for pic in pics:
        entries = [{"id": f"type:{data.org_type[pic]}", "level": 5},
                   {"id": f"country:{data.country[pic]}", "level": 5}]
        entries += [{"id": f"prog:{p}", "level": _level(c)}
                    for p, c in sorted(part_counts[pic].items())]
        caps[pic] = entries
    members = []
    for pic in pics:
        seen: Counter = Counter()
        for nb, attrs in graph[pic].items():
            for cap in caps[nb]:
                seen[cap["id"]] += attrs["weight"]
        total = sum(graph[pic][nb]["weight"] for nb in graph[pic]) or 1
        needs = [{"id": cid, "kind": "partner", "urgency": int(1 + round(4 * min(1.0, c / total)))}
                 for cid, c in seen.most_common(max_needs) if c / total >= 0.1]
        members.append({"id": pic, "name": pic, "sector": data.org_type[pic],
                        "region": data.country[pic], "capabilities": caps[pic], "needs": needs})
    ties = [{"source": a, "target": b, "type": "COLLABORATES_WITH",
             "weight": min(1.0, attrs["weight"] / 3), "since": f"{attrs['first']}-01-01"}
            for a, b, attrs in graph.edges(data=True)]
    return build_projection({"id": f"cordis-{programme}-before-{cut}",
                             "name": f"CORDIS H2020 {programme}"},
                            cordis_taxonomy(data, cut), members, ties)


#: Engine pair features (``NetworkFeatures.block``) used by the learned ranker: the engine's own
#: ``LEARNED_FEATURES`` (no direct tie: candidates are never tied to the query).
ENGINE_FEATURES = tuple(LEARNED_FEATURES)
NODE_FEATURES = ("log_degree", "log_strength", "log_health_projects", "log_health_last1",
                 "log_health_last2", "log_all_projects", "log_all_last2", "years_since_last",
                 "years_since_first", "log_coordinated", "log_mean_size", "log_all_degree",
                 *(f"type_{t}" for t in ACTIVITY_TYPES))
GRAPH_PAIR_FEATURES = ("cn", "jaccard", "aa", "ra", "log_pa", "log_paths3", "weighted_cn",
                       "same_type", "same_country", "same_group", "programme_cosine",
                       "engine_hand_score", "all_tied", "all_log_joint", "all_log_cn")


@dataclass
class CordisPairFeatures:
    """Pair features over the candidates of one split, from information before its cut only."""

    split: CordisSplit
    node: np.ndarray  # candidates x NODE_FEATURES
    pair: dict[str, np.ndarray]  # name -> candidates x candidates

    @property
    def names(self) -> list[str]:
        return ([f"a_{n}" for n in NODE_FEATURES] + [f"b_{n}" for n in NODE_FEATURES]
                + list(GRAPH_PAIR_FEATURES) + list(ENGINE_FEATURES))

    def rows(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Design matrix of the pairs (a, b), a in ``rows``, b in ``cols`` (all by default),
        row-major: shape (len(rows) * len(cols), n_features), float32."""
        n = len(self.split.candidates)
        cols = np.arange(n) if cols is None else np.asarray(cols)
        r, c = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        parts = [self.node[r], self.node[c]]
        parts += [self.pair[name][r, c][:, None] for name in GRAPH_PAIR_FEATURES]
        parts += [self.pair[name][r, c][:, None] for name in ENGINE_FEATURES]
        return np.hstack(parts).astype(np.float32)


def cordis_pair_features(data: CordisData, split: CordisSplit) -> CordisPairFeatures:
    """Node and pair features of a split: graph structure, activity before the cut, the engine's
    ``NetworkFeatures`` on :func:`cordis_projection` and its hand score. The ``health_*`` node
    features count projects of the split's programme part (SC1 by default)."""
    cut, graph, cands = split.cut, split.graph, split.candidates
    n = len(cands)
    # -- node features ------------------------------------------------------------------------
    health = defaultdict(list)
    all_years = defaultdict(list)
    coordinated = Counter()
    sizes = defaultdict(list)
    cand_set = set(cands)
    for rcn in data.projects(0, cut - 1):
        is_health = split.programme in data.parts.get(rcn, ())
        for pic in data.members[rcn] & cand_set:
            all_years[pic].append(data.year[rcn])
            if is_health:
                health[pic].append(data.year[rcn])
                sizes[pic].append(len(data.members[rcn]))
                coordinated[pic] += data.coordinator.get(rcn) == pic
    node = np.zeros((n, len(NODE_FEATURES)), np.float64)
    for i, pic in enumerate(cands):
        hy, ay = health[pic], all_years[pic]
        strength = sum(a["weight"] for a in graph[pic].values())
        node[i, :12] = [
            math.log1p(graph.degree(pic)), math.log1p(strength), math.log1p(len(hy)),
            math.log1p(sum(y == cut - 1 for y in hy)), math.log1p(sum(y >= cut - 2 for y in hy)),
            math.log1p(len(ay)), math.log1p(sum(y >= cut - 2 for y in ay)),
            cut - max(hy), cut - min(hy), math.log1p(coordinated[pic]),
            math.log(np.mean(sizes[pic])), 0.0,
        ]
        node[i, 12 + ACTIVITY_TYPES.index(data.org_type[pic])] = 1.0
    # -- graph pair features --------------------------------------------------------------------
    adj, nodes = adjacency(graph)
    pair: dict[str, np.ndarray] = {}
    for name, method in (("cn", "common_neighbors"), ("jaccard", "jaccard_coefficient"),
                         ("aa", "adamic_adar_index"), ("ra", "resource_allocation_index"),
                         ("log_pa", "preferential_attachment")):
        pair[name] = link_prediction_scores(graph, method, cands, cands, adj)
    pair["log_pa"] = np.log1p(pair["log_pa"])
    index = {v: i for i, v in enumerate(nodes)}
    ci = np.array([index[c] for c in cands])
    a2 = sp.csr_array(adj @ adj)
    pair["log_paths3"] = np.log1p(np.asarray((adj[ci] @ a2[:, ci]).toarray()))
    weights = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight="weight", format="csr")
    pair["weighted_cn"] = np.log1p(np.asarray((weights[ci] @ weights[:, ci]).toarray()))
    types = np.array([data.org_type[c] for c in cands])
    countries = np.array([data.country[c] for c in cands])
    groups = np.array([data.group[c] for c in cands])
    pair["same_type"] = (types[:, None] == types[None, :]).astype(np.float64)
    pair["same_country"] = (countries[:, None] == countries[None, :]).astype(np.float64)
    pair["same_group"] = (groups[:, None] == groups[None, :]).astype(np.float64)
    pair["programme_cosine"] = text_scores(cordis_programme_documents(data, cands, cut))
    # -- every H2020 programme before the cut (not only health) -------------------------------
    everything = data.projects(0, cut - 1)
    pics = sorted({p for rcn in everything for p in data.members[rcn]})
    where = {p: i for i, p in enumerate(pics)}
    inc_rows = [where[p] for rcn in everything for p in data.members[rcn]]
    inc_cols = [j for j, rcn in enumerate(everything) for _ in data.members[rcn]]
    incidence = sp.csr_array((np.ones(len(inc_rows)), (inc_rows, inc_cols)),
                             shape=(len(pics), len(everything)))
    ck = np.array([where[c] for c in cands])
    joint = sp.csr_array(incidence[ck] @ incidence.T)  # candidates x all organisations
    linked = sp.csr_array(joint > 0, dtype=np.float64)
    linked = sp.csr_array(linked - sp.csr_array(  # not one's own neighbour
        (np.ones(len(ck)), (np.arange(len(ck)), ck)), shape=linked.shape))
    linked.eliminate_zeros()
    joint_cc = np.asarray(joint[:, ck].toarray())
    np.fill_diagonal(joint_cc, 0.0)
    pair["all_tied"] = (joint_cc > 0).astype(np.float64)
    pair["all_log_joint"] = np.log1p(joint_cc)
    pair["all_log_cn"] = np.log1p(np.asarray((linked @ linked.T).toarray()))
    node[:, NODE_FEATURES.index("log_all_degree")] = np.log1p(
        np.asarray(linked.sum(axis=1)).ravel())
    # -- the engine -----------------------------------------------------------------------------
    projection = cordis_projection(data, graph, cut, programme=split.programme)
    matcher = PartnerMatcher().fit(projection)
    rows = np.array([projection.member_index[c] for c in cands])
    block = {name: np.empty((n, n), np.float32) for name in ENGINE_FEATURES}
    hand = np.empty((n, n))
    for start in range(0, n, 256):
        r = rows[start:start + 256]
        score, _, _ = matcher.score_block(r, new_partners=False)  # link prediction
        f = matcher.features_.block(r, ENGINE_FEATURES)
        for name in ENGINE_FEATURES:
            block[name][start:start + len(r)] = f[name][:, rows]
        hand[start:start + len(r)] = score[:, rows]
    pair.update(block)
    pair["engine_hand_score"] = np.where(np.isfinite(hand), hand, 0.0)
    return CordisPairFeatures(split, node, pair)


def _models(random_state: int = 0) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        "hgb_small": HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=200,
            l2_regularization=1.0, early_stopping=False, random_state=random_state),
        "hgb": HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=100,
            l2_regularization=1.0, early_stopping=False, random_state=random_state),
    }


def sampled_pairs(split: CordisSplit, max_rows: int, seed: int
                  ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per query of a window: ``(q, cols, y, keep)``: its allowed candidates, which of them are
    new partners, and the rows a training set keeps (every positive and a random sample of the
    negatives, at most ``max_rows`` rows over the window). Queries keeping nothing are left
    out. One random draw per query, in query order (seed ``seed``)."""
    rng = np.random.default_rng(seed)
    total = int(split.allowed.sum())
    n_pos = sum(len(r) for r in split.relevant)
    keep_neg = min(1.0, max(0.0, (max_rows - n_pos) / max(total - n_pos, 1)))
    for qi, q in enumerate(split.queries):
        cols = np.flatnonzero(split.allowed[qi])
        y = np.isin(cols, list(split.relevant[qi]))
        keep = y | (rng.random(len(cols)) < keep_neg)
        if keep.any():
            yield q, cols, y, keep


def _training_set(features: CordisPairFeatures, max_rows: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every positive pair of the window's queries and a random sample of their other allowed
    candidates as negatives, at most ``max_rows`` rows in all (:func:`sampled_pairs`)."""
    xs, ys = [], []
    for q, cols, y, keep in sampled_pairs(features.split, max_rows, seed):
        xs.append(features.rows(np.array([q]), cols[keep]))
        ys.append(y[keep])
    return np.vstack(xs), np.concatenate(ys).astype(int)


def predict_scores(model: Any, features: CordisPairFeatures, block: int = 128) -> np.ndarray:
    n = len(features.split.candidates)
    out = np.empty((n, n))
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        out[rows] = model.predict_proba(features.rows(rows))[:, 1].reshape(len(rows), n)
    return out


def rank_scores(scores: np.ndarray) -> np.ndarray:
    """Per row (query), the rank of each score divided by the row length, in (0, 1]; ties share
    their mean rank. Makes scores of different scale blendable without changing any row order."""
    from scipy.stats import rankdata

    return rankdata(scores, axis=1) / scores.shape[1]


def blend_scores(learned: np.ndarray, log_pa: np.ndarray, weight: float) -> np.ndarray:
    """Rank blend: (1 - weight) x per-row rank of the learned score + weight x per-row rank of
    (log) preferential attachment."""
    return (1.0 - weight) * rank_scores(learned) + weight * rank_scores(log_pa)


#: Blend weights of preferential attachment tried in model selection (1.0, pure preferential
#: attachment, is left out: the engine's ranker has to contribute).
BLEND_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(10))


@dataclass
class LearnedRanker:
    """The selected model, its training window, its blend weight with preferential attachment
    and the validation table it was chosen on."""

    model: Any
    name: str
    horizon: int
    train_window: tuple[int, int]
    validation: list[dict[str, Any]]
    blend_weight: float = 0.0
    validation_windows: tuple[tuple[int, int], ...] = ()
    skipped_windows: tuple[tuple[int, int], ...] = ()  # (t, h) windows without any query

    def score(self, features: CordisPairFeatures) -> np.ndarray:
        """Candidate x candidate scores of the blended ranker on a split's features."""
        return blend_scores(predict_scores(self.model, features), features.pair["log_pa"],
                            self.blend_weight)


def _selection_score(res: dict, method: str) -> float:
    """(P@10 + MRR overall + P@10 + MRR companies) / 2: the target covers both subsets."""
    return sum(res[s][method]["precision"] + res[s][method]["mrr"]
               for s in ("overall", "companies")) / 2


def cordis_fit_ranker(data: CordisData, cut: int, *, horizons: Sequence[int] = (1, 2),
                      models: Sequence[str] = ("logreg", "hgb_small"),
                      validation_horizons: Sequence[int] = (1, 2),
                      blend_weights: Sequence[float] = BLEND_WEIGHTS,
                      first_year: int = 2014, max_rows: int = 150_000, seed: int = 0,
                      cache: dict | None = None, programme: str = HEALTH,
                      learned_out: dict | None = None) -> LearnedRanker:
    """Select and fit the engine's learned ranker for test cut ``cut`` on pre-cut data only.

    A *window* (t, h) uses features from projects starting before t and labels = the new pairs
    of projects starting in [t, t + h - 1] (:func:`cordis_split` with ``end = t + h - 1``).

    - validation windows: (cut - v, v) for v in ``validation_horizons``, i.e. the new pairs of
      the last year and of the last two years before the cut (labels end at cut - 1). The
      two-year window is closer to the multi-year test period, where the most active
      organisations dominate; a window is used when some training window fits before it.
    - candidates: model x training horizon h x blend weight w. For validation window (t, v) the
      model is fitted on window (t - h, h) (at least one year of features: t - h >
      ``first_year``); its scores are rank-blended with preferential attachment at weight w
      (:func:`blend_scores`). Only (model, h) that can be fitted for every validation window
      compete; the best mean of :func:`_selection_score` over the validation windows wins.
    - final fit: the chosen model on window (cut - h, h), i.e. labels up to year cut - 1, blended
      at the chosen weight.
    - a window without any query (no new pair among organisations seen before it: small parts
      such as SC2 early on) can neither train nor validate: it is skipped and listed in
      ``skipped_windows``. Raises ``ValueError`` when no (model, h) is left.

    Nothing from projects starting at or after ``cut`` is read. With ``learned_out``, the
    unblended per-row ranks of every fitted (model, h) on every validation window are kept in
    it as ``learned_out[(t, v)][(model, h)]`` (for :func:`matching.evaluation.gate.cordis_fit_gate`).
    """
    cache = {} if cache is None else cache
    splits: dict[tuple[int, int], CordisSplit] = {}
    skipped: set[tuple[int, int]] = set()

    def split_of(t: int, h: int) -> CordisSplit:
        if (t, h) not in splits:
            splits[(t, h)] = cordis_split(data, t, end=t + h - 1, programme=programme)
        return splits[(t, h)]

    def has_queries(t: int, h: int) -> bool:
        ok = t > first_year and bool(split_of(t, h).queries)
        if t > first_year and not ok:
            skipped.add((t, h))
        return ok

    def window(t: int, h: int) -> CordisPairFeatures:
        if (t, h) not in cache:
            _log(f"  features: window cut {t}, labels {t}-{t + h - 1}")
            cache[(t, h)] = cordis_pair_features(data, split_of(t, h))
        return cache[(t, h)]

    assert cut - 1 > first_year, "need one year of features before the validation window"
    windows = [(cut - v, v) for v in validation_horizons
               if has_queries(cut - v, v) and any(has_queries(cut - v - h, h) for h in horizons)]
    usable = [h for h in horizons if has_queries(cut - h, h)
              and all(has_queries(t - h, h) for t, _ in windows)]
    if skipped:
        _log(f"  skipped windows without queries: {sorted(skipped)}")
    per_config: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for t, v in windows:
        val = window(t, v)
        pa_rank = rank_scores(val.pair["log_pa"])
        for h in usable:
            X, y = _training_set(window(t - h, h), max_rows, seed)
            for name in models:
                t0 = time.perf_counter()
                model = _models(seed)[name].fit(X, y)
                learned_rank = rank_scores(predict_scores(model, val))
                if learned_out is not None:
                    learned_out.setdefault((t, v), {})[(name, h)] = learned_rank
                res = cordis_summaries(data, val.split, {
                    w: (1.0 - w) * learned_rank + w * pa_rank for w in blend_weights})
                per_config[(name, h)].append({
                    "window": (t, v), "train_window": (t - h, t - 1),
                    "fit_seconds": time.perf_counter() - t0, "results": res})
                _log(f"  validation {t}-{t + v - 1}: {name} h={h} fitted")
    rows = []
    for (name, h), runs in per_config.items():
        mean = {w: float(np.mean([_selection_score(r["results"], w) for r in runs]))
                for w in blend_weights}
        w_best = max(blend_weights, key=lambda w: (mean[w], -w))
        row = {"model": name, "horizon": h, "blend_weight": w_best, "score": mean[w_best],
               "score_unblended": mean.get(0.0),
               "windows": []}
        for r in runs:
            res = r["results"]
            row["windows"].append({
                "window": r["window"], "train_window": r["train_window"],
                **{f"val_{m}": res["overall"][w_best][m] for m in ("precision", "mrr")},
                **{f"val_companies_{m}": res["companies"][w_best][m]
                   for m in ("precision", "mrr")}})
        rows.append(row)
        _log(f"  selection {name} h={h}: best w={w_best} score {mean[w_best]:.3f}")
    if not rows:
        raise ValueError(f"{programme} cut {cut}: no pre-cut training and validation window "
                         f"with queries (skipped {sorted(skipped)})")
    best = max(rows, key=lambda r: r["score"])
    h = best["horizon"]
    X, y = _training_set(window(cut - h, h), max_rows, seed)
    model = _models(seed)[best["model"]].fit(X, y)
    return LearnedRanker(model, best["model"], h, (cut - h, cut - 1), rows,
                         best["blend_weight"], tuple(windows), tuple(sorted(skipped)))


def cordis_evaluation(data: CordisData, cut: int, *, k: int = 10, seed: int = 0,
                      models: Sequence[str] = ("logreg", "hgb_small"),
                      horizons: Sequence[int] = (1, 2),
                      validation_horizons: Sequence[int] = (1, 2),
                      programme: str = HEALTH, gated: bool = False,
                      horizon: bool = False, query_ranks: bool = False) -> dict[str, Any]:
    """Every method on one cut of one programme part, in the same run: the baselines, the
    engine's hand score on :func:`cordis_projection` and the engine's learned ranker
    (:func:`cordis_fit_ranker`, fitted before the cut). Returns ``{"split", "results":
    {"overall"|"companies": {method: metrics}}, "ranker", "scores", "ranker_error"}``; without
    a fittable pre-cut window ``ranker`` is None, ``ranker_error`` says why and the results have
    no ``engine_learned``. With ``gated``, also the per-query gated blend
    (:mod:`matching.evaluation.gate`, fitted on the same pre-cut windows) as ``engine_gated``,
    its choices in ``gate``. With ``horizon``, also the horizon-matched ranker
    (:mod:`matching.evaluation.horizon`, fitted on pre-cut windows sized to the test) as
    ``engine_horizon``, fitted in ``horizon`` (or the reason it could not be in
    ``horizon_error``). With ``query_ranks``, also the query-rank ranker
    (:mod:`matching.evaluation.query_ranks`, every pre-cut window pooled) as
    ``engine_query_ranks``, fitted in ``query_ranks`` (or why not in ``query_ranks_error``)."""
    _log(f"CORDIS {programme} cut {cut}: test split and features")
    split = cordis_split(data, cut, programme=programme)
    features = cordis_pair_features(data, split)
    scores = cordis_baseline_scores(data, split, seed=seed)
    scores["engine"] = features.pair["engine_hand_score"]
    _log(f"CORDIS {programme} cut {cut}: model selection before the cut")
    ranker, error, gate = None, None, None
    cache: dict = {}
    learned_val: dict = {}
    try:
        ranker = cordis_fit_ranker(data, cut, models=models, horizons=horizons,
                                   validation_horizons=validation_horizons, seed=seed,
                                   programme=programme, cache=cache, learned_out=learned_val)
        scores["engine_learned"] = ranker.score(features)
    except ValueError as exc:
        error = str(exc)
        _log(f"  no learned ranker: {error}")
    if ranker is not None and gated:
        from matching.evaluation.gate import cordis_fit_gate, cordis_gate_scores

        _log(f"CORDIS {programme} cut {cut}: gate before the cut")
        gate = cordis_fit_gate(data, ranker, cache, learned_val, k=k)
        scores["engine_gated"] = cordis_gate_scores(gate, ranker, features, cache)
    matched, matched_error = None, None
    if horizon:
        from matching.evaluation.horizon import cordis_fit_horizon

        _log(f"CORDIS {programme} cut {cut}: horizon-matched ranker before the cut")
        try:
            matched = cordis_fit_horizon(data, cut, programme=programme, models=models, k=k,
                                         seed=seed, cache=cache)
            scores["engine_horizon"] = matched.score(features)
        except ValueError as exc:
            matched_error = str(exc)
            _log(f"  no horizon-matched ranker: {matched_error}")
    ranks, ranks_error = None, None
    if query_ranks:
        from matching.evaluation.query_ranks import cordis_fit_query_ranks

        _log(f"CORDIS {programme} cut {cut}: query-rank ranker before the cut")
        try:
            ranks = cordis_fit_query_ranks(data, cut, programme=programme, k=k, seed=seed,
                                           cache=cache)
            scores["engine_query_ranks"] = ranks.score(features)
        except ValueError as exc:
            ranks_error = str(exc)
            _log(f"  no query-rank ranker: {ranks_error}")
    cache.clear()
    return {"split": split, "results": cordis_summaries(data, split, scores, k=k),
            "ranker": ranker, "scores": scores, "ranker_error": error, "gate": gate,
            "horizon": matched, "horizon_error": matched_error,
            "query_ranks": ranks, "query_ranks_error": ranks_error}
