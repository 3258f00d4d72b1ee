"""Names shared by the evaluation modules."""

from __future__ import annotations

from matching.features import POSITIVE_TIES

#: Tie types that count as a positive relation, held out and predicted. COMPETES_WITH is not one:
#: it stays in the training network (the engine needs it to recognise rivals).
HELD_OUT_TIE_TYPES: tuple[str, ...] = tuple(POSITIVE_TIES)  # COLLABORATES_WITH, TRUSTS, SUPPLIES

LINK_PREDICTORS = ("common_neighbors", "jaccard_coefficient", "adamic_adar_index",
                   "resource_allocation_index", "preferential_attachment")
METHOD_LABELS = {
    "common_neighbors": "common neighbours",
    "jaccard_coefficient": "Jaccard",
    "adamic_adar_index": "Adamic-Adar",
    "resource_allocation_index": "resource allocation",
    "preferential_attachment": "preferential attachment",
    "text": "TF-IDF text",
    "random": "random",
    "engine": "engine (hand score)",
    "engine_learned": "engine + learned ranker",
    "engine_gated": "gated blend",
    "engine_horizon": "horizon-matched ranker",
    "engine_query_ranks": "query-rank ranker",
}
METRICS = ("precision", "recall", "mrr", "ndcg", "roc_auc")


