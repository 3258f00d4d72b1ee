"""Offline evaluation of partner suggestions: held-out ties and a real temporal benchmark.

Everything here is pure (numpy, scipy, networkx, scikit-learn; no database). Three layers:

- **metrics** on one ranked list of candidate ids against a set of relevant ids
  (:func:`precision_at_k`, :func:`recall_at_k`, :func:`reciprocal_rank`, :func:`ndcg_at_k`),
  their mean over queries (:func:`aggregate`) and :func:`roc_auc` over pairs;
- **scorers**: the networkx link predictors vectorised with :mod:`scipy.sparse`
  (:func:`link_prediction_scores`, identical to networkx's definitions), a TF-IDF text baseline
  (:func:`text_scores`), a random one, and the engine (:class:`matching.scoring.PartnerMatcher`);
- **protocols**: :func:`holdout_evaluation` hides random positive ties of a seed network;
  the ``cordis_*`` functions run the temporal benchmark of ``shared/data/cordis-h2020``
  (health projects, SC1, or any other programme part) including the engine with a ranker
  learned on pre-cut data only, and :mod:`matching.evaluation.gate` a per-query gated blend of
  baselines, an activity forecast and the engine, and :mod:`matching.evaluation.horizon` a
  ranker whose windows are sized to the test's horizon, :mod:`matching.evaluation.query_ranks`
  a ranker over per-query ranks trained on every pre-cut window pooled;
  :mod:`matching.evaluation.uncertainty` gives paired bootstrap intervals and the spread of a
  metric over tie orders.

Ranking conventions used by every method: a query ranks every candidate except itself and those
it is already tied to; higher scores first; equal scores are ordered by one fixed random
permutation of the candidates (``tie_seed``), the same for every method, so no method profits
from the order of ids.
"""

from matching.evaluation.baselines import *  # noqa: F403
from matching.evaluation.constants import *  # noqa: F403
from matching.evaluation.cordis import *  # noqa: F403
from matching.evaluation.gate import *  # noqa: F403
from matching.evaluation.holdout import *  # noqa: F403
from matching.evaluation.horizon import *  # noqa: F403
from matching.evaluation.ranking import *  # noqa: F403
from matching.evaluation.uncertainty import *  # noqa: F403
