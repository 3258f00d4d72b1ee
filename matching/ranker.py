"""A ranker learned from feedback and past collaborations, over the hand-made pair features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matching.features import NetworkFeatures, View

# Not the direct tie: collaborations are positives, so their own tie would give the answer away.
LEARNED_FEATURES = ("benefit_to_member", "benefit_to_partner", "non_core_benefit", "text",
                    "common", "adamic_adar", "rival", "core_overlap", "same_sector",
                    "same_region", "preferential")


def stack(features: dict[str, np.ndarray], names=LEARNED_FEATURES) -> np.ndarray:
    """Pair features as rows of a design matrix, one column per name."""
    return np.stack([np.asarray(features[name], np.float64).ravel() for name in names], axis=1)


TRAINING_CHUNK = 256  # query rows whose features are computed together


@dataclass(frozen=True)
class RankerData:
    """What a matcher's rankers learn from: labelled pairs ``(a, b, accepted)`` over
    ``features``, and how many of the members' own decisions they include."""

    features: NetworkFeatures
    pairs: list[tuple[int, int, int]]
    decisions: int


@dataclass(frozen=True)
class Rankers:
    """The two rankers of a matcher: one may read weaknesses (facilitators' view), the public
    one reads none (what members are shown)."""

    facilitator: FeedbackRanker
    public: FeedbackRanker
    decisions: int


class FeedbackRanker:
    """Logistic regression of P(pair accepted) on pair features.

    Positives: accepted suggestions and existing collaborations; negatives: declined suggestions
    and as many random unlinked pairs as there are positives (``random_state``). The features are
    those of ``view``: fitted in the public view, the model reads no one's weaknesses, so it may
    rank what members see.
    """

    def __init__(self, *, C: float = 1.0, random_state: int = 0,
                 view: View | str = View.FACILITATOR):
        self.C = C
        self.random_state = random_state
        self.view = view

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def fit(self, features: NetworkFeatures, pairs: list[tuple[int, int, int]]) -> FeedbackRanker:
        n = features.projection.n_members
        labelled = {(a, b): y for a, b, y in pairs}
        positives = sum(labelled.values())
        negatives = len(labelled) - positives
        rng = np.random.default_rng(self.random_state)
        linked = features.linked
        tries = 0
        while negatives < positives and tries < 20 * positives:
            a, b = (int(x) for x in rng.integers(0, n, 2))
            tries += 1
            if a != b and (a, b) not in labelled and \
                    b not in linked.indices[linked.indptr[a]:linked.indptr[a + 1]]:
                labelled[(a, b)] = 0
                negatives += 1
        labels = np.array(list(labelled.values()))
        if n < 2 or labels.min() == labels.max():
            return self  # one class only: nothing to learn, the hand score stays
        rows = np.array([a for a, _ in labelled])
        cols = np.array([b for _, b in labelled])
        order = np.argsort(rows, kind="stable")
        unique, start = np.unique(rows[order], return_index=True)
        X = np.empty((len(labelled), len(LEARNED_FEATURES)))
        # In chunks of query rows, each against the members it is paired with only: a chunk
        # against the whole network cost 27 s of CPU at 10,000 members (for a few pairs a row,
        # on a background thread that requests then share the interpreter with), and every
        # labelled member against the whole network at once would take gigabytes.
        for first in range(0, len(unique), TRAINING_CHUNK):
            chunk = unique[first:first + TRAINING_CHUNK]
            end = start[first + len(chunk)] if first + len(chunk) < len(unique) else len(order)
            members = order[start[first]:end]  # the chunk's pairs, by query row
            paired = np.unique(cols[members])
            block = features.block(chunk, LEARNED_FEATURES, view=self.view, columns=paired)
            k = np.searchsorted(chunk, rows[members])
            at = np.searchsorted(paired, cols[members])
            X[members] = stack({name: block[name][k, at] for name in LEARNED_FEATURES})
            del block
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
        self.model_.fit(X, labels)
        return self

    def predict_proba_block(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """P(accepted) for every pair of the block: the fitted pipeline's ``predict_proba``,
        bit for bit, by its own arithmetic. Through scikit-learn, checking the input and the
        fitted state cost more than the arithmetic (0.5 of 0.6 ms a suggestion at 10k members,
        a fifth of its scoring); the model is ours and fitted, and the features are finite
        float64 columns in the order it was fitted on."""
        shape = features["benefit_to_member"].shape
        scaler, model = self.model_[0], self.model_[-1]
        x = stack(features)  # (a new array: scaled in place, as ``StandardScaler`` does a copy)
        x -= scaler.mean_
        x /= scaler.scale_
        z = x @ model.coef_.T + model.intercept_
        return expit(z.reshape(-1)).reshape(shape)
