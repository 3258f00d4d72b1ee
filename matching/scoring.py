"""Complementary, reciprocal, competition-aware partner suggestions.

``PartnerMatcher`` follows scikit-learn's conventions: ``__init__`` stores parameters, ``fit``
takes a network projection and learns (``features_``, ``ranker_``), ``suggest`` ranks.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import deque
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.allocation import (NetworkLoad, contributions, id_ranks, provider_load,
                                 varied_order)
from matching.features import FEATURES, NetworkFeatures, View
from matching.projection import (FeedbackIndex, NetworkProjection, frozen_projection,
                                 with_agents, with_members, with_ties, with_verdicts)
from matching.ranker import FeedbackRanker, RankerData, Rankers
from matching.reasons import Reason, benefit_reasons, overlap, relation_reasons
from matching.rows import gathered
from matching.sharing import Kept, keep, own, release, without

TRUSTED_TIES = ("TRUSTS", "COLLABORATES_WITH")
# What the hand-tuned score and the rivalry test read; the learned ranker reads them all.
HAND_FEATURES = ("benefit_to_member", "benefit_to_partner", "non_core_benefit", "text", "tie",
                 "common", "rival", "not_rival", "core_overlap", "same_sector", "same_region",
                 "shared_customers")
FIRST_CHECKS = 20  # candidates examined for room at #1 before the best one is taken anyway


class CompetitorPolicy(StrEnum):
    INCLUDE = "include"  # score rivals like anyone else (a facilitator's override)
    PENALISE = "penalise"  # only non-core cooperation counts, and the score is discounted
    EXCLUDE = "exclude"


class UnknownMember(LookupError):
    """The member is not in the projected network."""


class StaleTaxonomy(LookupError):
    """A changed member names capabilities the fitted taxonomy does not have: refit."""


@dataclass(frozen=True)
class Suggestion:
    member: str
    name: str
    score: float
    benefit_to_member: float
    benefit_to_partner: float
    competitor: bool
    overlap: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    introduction_path: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "name": self.name, "score": self.score,
                "benefit_to_member": self.benefit_to_member,
                "benefit_to_partner": self.benefit_to_partner, "competitor": self.competitor,
                "overlap": list(self.overlap), "reasons": [r.as_dict() for r in self.reasons],
                "introduction_path": self.introduction_path}


class PartnerMatcher:
    r"""Rank the other members of a network by how well they complement a member.

    For member a and candidate b, with benefits :math:`u = B(a \leftarrow b)` and
    :math:`v = B(b \leftarrow a)` (shares of weighted needs and weaknesses covered, see
    ``NetworkFeatures``), text similarity :math:`t`, tie strength :math:`s` and common partners
    :math:`k`:

    .. math::

        score = u + w_m \sqrt{u v} + w_p v + w_t t + w_s s + w_c \min(k, 3) / 3

    The geometric mean rewards mutual benefit, yet a candidate covering an urgent need of a
    (large :math:`u`) still ranks above one covering nothing, whatever a could do for it.
    A rival (``matching.rivalry``: a COMPETES_WITH tie or a facilitator's confirmed rivalry, or
    one market (sector and region, or a customer segment) and a core offer in common, unless a
    facilitator rejected it) is
    scored, under the ``penalise`` policy, on what lies outside both their lines of business only,
    and its score multiplied by ``competitor_penalty``.

    After ``fit``, when the network holds at least ``min_feedback`` decisions on suggestions, a
    logistic-regression ranker fitted on them and on existing collaborations re-weights the score:
    :math:`score \cdot (0.5 + P(\text{accept}))`. Accepted pairs are no longer suggested as new,
    and a declined pair is not suggested for ``decline_days``.

    Every score is computed in a ``View`` (``matching.features``): the facilitator view reads
    everyone's weaknesses; the member view reads the query member's own weaknesses and the
    candidates' needs only, so what a member is shown does not depend on anyone else's
    weaknesses; the public view reads needs only. Two rankers are fitted: ``ranker_`` on the
    facilitator view's features, ``public_ranker_`` on the public view's, which re-weights the
    member and public views.
    """

    def __init__(self, *, weakness_weight: float = 0.8, mutual_weight: float = 0.5,
                 partner_weight: float = 0.1, text_weight: float = 0.1, tie_weight: float = 0.1,
                 common_weight: float = 0.05, competitor_penalty: float = 0.5,
                 decline_days: int = 180, min_feedback: int = 10, random_state: int = 0):
        self.weakness_weight = weakness_weight
        self.mutual_weight = mutual_weight
        self.partner_weight = partner_weight
        self.text_weight = text_weight
        self.tie_weight = tie_weight
        self.common_weight = common_weight
        self.competitor_penalty = competitor_penalty
        self.decline_days = decline_days
        self.min_feedback = min_feedback
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, projection: NetworkProjection, today: dt.date | None = None) -> PartnerMatcher:
        """Learn everything from ``projection``; ``today`` fixes the date declines expire by
        (default: the date of each request)."""
        self.projection_ = projection
        self.today_ = today
        self._loads: dict[bool, NetworkLoad] = {}
        self.features_ = NetworkFeatures(projection, weakness_weight=self.weakness_weight)
        self.trusted_: dict[str, set[str]] = {mid: set() for mid in projection.member_ids}
        for mid in projection.member_ids:
            self._read_trusted(mid)
        self._trusted_order: dict[str, list[str]] = {}  # kept by ``_paths``
        self.decisions_: dict[int, dict[int, tuple[str, str]]] = {}
        self._read_feedback(projection.feedback)
        self.use_rankers(self.train_rankers(self.ranker_data(frozen=False)))
        return self

    # -- the learned rankers ------------------------------------------------------------------
    def ranker_data(self, *, frozen: bool = True) -> RankerData:
        """What the rankers learn from, as of now: members' own decisions and collaborations,
        with the features ``frozen`` (updates applied later do not reach them, so the rankers
        can be trained off any lock while the matcher keeps serving). Milliseconds: call it
        where no update runs."""
        self._check_fitted()
        features = self.features_.frozen() if frozen else self.features_
        return RankerData(features, self._labelled_pairs(),
                          len(self._own_feedback(self.projection_)))

    def train_rankers(self, data: RankerData) -> Rankers:
        """Both rankers learned from ``data`` (seconds on a large network; changes nothing
        here)."""
        ranker = FeedbackRanker(random_state=self.random_state)
        public = FeedbackRanker(random_state=self.random_state, view=View.PUBLIC)
        if data.decisions >= self.min_feedback:
            ranker.fit(data.features, data.pairs)
            public.fit(data.features, data.pairs)
        return Rankers(ranker, public, data.decisions)

    def use_rankers(self, rankers: Rankers) -> None:
        """Rank with ``rankers`` from now on (a full fit trains them on the same data)."""
        # One step (a dict update runs no Python code): ``frozen`` copies a consistent state.
        self.__dict__.update(ranker_=rankers.facilitator, public_ranker_=rankers.public,
                             ranker_feedback_=rankers.decisions)  # the rankers' data

    # -- a copy to read at leisure --------------------------------------------------------------
    def frozen(self, at: Hashable = None) -> PartnerMatcher:
        """A copy that answers exactly as this matcher does now, for long reads (network-wide
        analyses) while this one goes on being updated; call it where no update runs (the
        rankers may be swapped meanwhile). Milliseconds: the arrays are shared until an update
        writes one (``NetworkFeatures.frozen``: copied then, while the copy lives), and of what
        updates change in place only the outer containers are copied (the dicts of rows by
        member, the tie graph's dicts): updates replace the rows they change instead of writing
        into them (``matching.sharing``). Drop it as soon as it is read: while it lives, edits
        copy the arrays they write. ``at`` names the state copied (``frozen_at_``; the engine:
        the versions it reflects), so readers may share what they derive from copies of one
        state."""
        self._check_fitted()
        state = dict(self.__dict__)  # one consistent read (see ``use_rankers``)
        copy = object.__new__(type(self))
        copy.__dict__.update(state)
        copy.projection_ = frozen_projection(state["projection_"])
        copy.features_ = state["features_"].frozen(copy.projection_)
        # Rows by member, shared: updates replace the rows they change (``matching.sharing``).
        copy.trusted_, copy.decisions_ = dict(state["trusted_"]), dict(state["decisions_"])
        copy.__dict__.update(_loads={}, _load_state={}, _trusted_order={}, frozen_at_=at,
                             _feedback_index=None)  # (the live one's, updated in place)
        return copy

    def kept(self, at: Hashable = None) -> Kept:
        """A ``frozen`` copy held by the handle returned (``Kept.copy``) only until this matcher
        is next updated or dropped: readers of the same state may share it, and no update pays
        for the arrays it would share."""
        return keep(self, self.frozen(at))

    def _ranker(self, view: View) -> FeedbackRanker:
        """The facilitator's ranker may have learned from weaknesses; the others read none."""
        return self.ranker_ if view is View.FACILITATOR else self.public_ranker_

    def _read_trusted(self, mid: str) -> None:
        """``mid``'s trusted ties (either direction) into the undirected adjacency."""
        ties = self.projection_.ties
        if mid not in ties:
            return
        for a, b, t in [*ties.out_edges(mid, keys=True), *ties.in_edges(mid, keys=True)]:
            if t in TRUSTED_TIES:
                self.trusted_.setdefault(a, set()).add(b)
                self.trusted_.setdefault(b, set()).add(a)

    def _read_feedback(self, feedback: list[dict[str, Any]]) -> None:
        """The latest decision per pair (``feedback`` oldest first), both ways round."""
        index = self.projection_.member_index
        for f in feedback:
            if f["member"] not in index or f["candidate"] not in index:
                continue
            a, b = index[f["member"]], index[f["candidate"]]
            decision = (f["decision"], f.get("at") or "")
            self.decisions_.setdefault(a, {})[b] = decision
            self.decisions_.setdefault(b, {})[a] = decision

    def suppressed(self, a: int, today: dt.date | None = None) -> list[int]:
        """Rows never suggested to row ``a``: accepted pairs, and pairs declined within
        ``decline_days``."""
        today = today or self.today_ or dt.date.today()
        cutoff = (today - dt.timedelta(days=self.decline_days)).isoformat()
        return [b for b, (decision, at) in self.decisions_.get(a, {}).items()
                if decision == "accepted" or at >= cutoff]

    # -- live updates -------------------------------------------------------------------------
    def apply_changes(self, *, members: list[dict[str, Any]] = (), removed: set[str] = frozenset(),
                      tie_members: set[str] = frozenset(), ties: list[dict[str, Any]] = (),
                      feedback_members: set[str] = frozenset(),
                      feedback: list[dict[str, Any]] = (), decline_days: int | None = None,
                      agents: list[dict[str, Any]] | None = None,
                      verdicts: list[dict[str, Any]] | None = None) -> PartnerMatcher:
        """Apply what changed in the network, in place, without refitting.

        ``members`` are the current rows of changed or new members, ``removed`` the ids of
        deleted ones; ``ties`` every current tie touching a member of ``tie_members``;
        ``feedback`` every current decision involving a member of ``feedback_members``;
        ``verdicts``, when given, every current verdict on rivalry (they replace all). The
        matcher then ranks exactly as one fitted from scratch on the network would, given the
        same rankers: the rankers are learned from the whole network and kept until the next
        full fit.
        """
        self._check_fitted()
        release(self)  # copies kept for readers that may come: not worth copying arrays for
        p = self.projection_
        missing = {e["id"] for m in members for key in ("capabilities", "weaknesses", "needs")
                   for e in m.get(key) or ()} - p.capability_index.keys()
        if missing:  # checked before anything changes
            raise StaleTaxonomy(sorted(missing))
        # Providers' loads read every member's demand, offers and ties (never decisions,
        # verdicts or agents): what the changed members get from each provider is noted now,
        # and only the providers whose askers change are counted again afterwards.
        loads_before, touched = self._loads, sorted(
            p.member_index[mid] for mid in {m["id"] for m in members} | set(removed)
            | set(tie_members) if mid in p.member_index)
        received = {full: [load.benefit_to(self.features_, row) for row in touched]
                    for full, load in loads_before.items()}
        asked = {full: [_row_columns(load.demand, row) for row in touched]  # an edit may
                 for full, load in loads_before.items()}  # splice the arrays in place
        if decline_days is not None:
            self.decline_days = decline_days
        if agents is not None:  # agents shape consortia gaps and the roadmap, never scores
            p = self.projection_ = with_agents(p, agents)
        removed = {mid for mid in removed if mid in p.member_index}
        gone_rows = {p.member_index[mid] for mid in removed}
        if members or removed:
            self._loads = {}
            self._trusted_order = {}  # neighbours in id order, kept by ``_paths``
            p, rows = with_members(p, members, removed)
            self.projection_ = p
            self.features_.update_members(p, rows)
            for mid in removed:  # (rows replaced, never changed: a frozen copy may share them)
                for other in self.trusted_.pop(mid, set()):
                    without(self.trusted_, other, mid)
            for row in gone_rows:
                for other in self.decisions_.pop(row, {}):
                    without(self.decisions_, other, row)
        tie_members = {mid for mid in tie_members if mid in p.member_index}
        if tie_members and not removed and _same_ties(p, tie_members, ties):
            tie_members = set()  # a profile edit re-reads the member's ties: usually unchanged
        if tie_members or removed:
            self._loads = {}
            self._trusted_order = {}
            p = with_ties(p, tie_members, ties)
            self.projection_ = p
            self.features_.update_ties(p, sorted({p.member_index[mid] for mid in tie_members}
                                                 | gone_rows))
            for mid in tie_members:
                for other in self.trusted_.pop(mid, set()):
                    without(self.trusted_, other, mid)
                self.trusted_[mid] = set()
            for mid in tie_members:
                if mid in p.ties:
                    own(self.trusted_, [*p.ties.succ[mid], *p.ties.pred[mid]])
                self._read_trusted(mid)
        feedback_members = {mid for mid in feedback_members if mid in p.member_index}
        if feedback_members:
            index = self.__dict__.get("_feedback_index")
            if index is None or index.feedback is not p.feedback:  # (first, or after a removal)
                index = self._feedback_index = FeedbackIndex(p.feedback)
            p, read = index.replaced(p, feedback_members, feedback)
            self.projection_ = p
            for mid in feedback_members:
                row = p.member_index[mid]
                for other in self.decisions_.pop(row, {}):
                    without(self.decisions_, other, row)
            own(self.decisions_, {p.member_index[mid] for f in read
                                  for mid in (f["member"], f["candidate"])
                                  if mid in p.member_index})
            self._read_feedback(read)
        if verdicts is not None:
            p = self.projection_ = with_verdicts(p, verdicts)
            self.features_.update_verdicts(p)
        self.features_.projection = self.projection_
        if not self._loads and loads_before:
            self._carry_loads(loads_before, touched, received, asked)
        return self

    def _carry_loads(self, before: dict[bool, NetworkLoad], touched: list[int],
                     received: dict[bool, list[np.ndarray]],
                     asked: dict[bool, list[np.ndarray]]) -> None:
        """The providers' loads after a change of the ``touched`` rows, keeping what each
        provider's askers were where nothing it reads changed: not one of the touched members,
        and giving each of them what it gave before (``received``). Exact: a provider's askers
        depend on its own row, its ties (symmetric) and each member's demand of what it offers.
        """
        for full, old in before.items():
            new = self._next_load(full, old, dict(zip(touched, asked[full])))
            if new is None:
                new = self._network_load(View.FACILITATOR if full else View.MEMBER)
            else:
                self._loads[full] = new
            if new.share != old.share or len(new.id_rank) != len(old.id_rank) or \
                    not np.array_equal(new.serving, old.serving):
                continue  # every quota may have moved
            # A touched row's own load is counted again (its offers and quota may have moved);
            # a provider whose benefit to a touched row moved keeps its load updated by the
            # moves, unless one crosses its cut (``Providers.move``): after a member edit at
            # 10k, counting every such provider again cost the next suggestions 0.5 ms each.
            # Only the providers whose loads were kept are looked at, in array operations: at
            # 100k an edit moves what thousands of providers give the member.
            carried = old.providing  # (the old load is dropped: its table moves on)
            carried.grow(len(new.id_rank))
            rows = np.asarray(touched, dtype=np.int64)
            carried.forget(rows)
            moved = []
            for row, given in zip(touched, received[full]):
                now = new.benefit_to(self.features_, row)[:len(given)]
                changed = np.flatnonzero(carried.known[:len(given)] & (now != given))
                carried.move(changed, given[changed], now[changed], int(new.id_rank[row]))
                moved.append(changed)
            if moved:
                carried.settle(np.unique(np.concatenate(moved)))
            new.providing = carried

    def _next_load(self, full: bool, old: NetworkLoad, asked: dict[int, np.ndarray]
                   ) -> NetworkLoad | None:
        """``NetworkLoad.of`` after a change of the rows of ``asked`` (what each wanted before:
        its columns of ``old.demand``), counted from ``old`` for those rows only (a few
        entries, where counting again reads the whole network); None when the capabilities
        some member wants changed (what serves and who covers anything move with them:
        counted again)."""
        state = self.__dict__.get("_load_state", {}).get(full)
        if state is None or state[0] is not old:
            return None
        _, counts, covering, asking = state
        f = self.features_
        demand = f.demand if full else f.public_demand
        counts = counts.copy()
        n = demand.shape[0]
        touched = sorted(set(asked) | set(range(old.demand.shape[0], n)))  # new members too
        for r in touched:
            if r < old.demand.shape[0]:
                np.subtract.at(counts, asked[r], 1)
                asking -= int(len(asked[r]) > 0)
            lo, hi = demand.indptr[r], demand.indptr[r + 1]
            np.add.at(counts, demand.indices[lo:hi], 1)
            asking += int(hi > lo)
        wanted = counts > 0
        if not np.array_equal(wanted, state[1] > 0):
            return None
        covering = np.concatenate([covering, np.zeros(n - len(covering), dtype=bool)])
        coverage_t = f.coverage_t
        for r in touched:
            lo, hi = coverage_t.indptr[r], coverage_t.indptr[r + 1]
            covering[r] = bool((coverage_t.data[lo:hi][wanted[coverage_t.indices[lo:hi]]]
                                != 0).any())
        share = max(1, math.ceil(asking / max(1, int(np.count_nonzero(covering)))))
        load = NetworkLoad(demand, f.demand_t if full else f.public_demand_t, share,
                           old.serving, self._id_ranks())
        self._load_state[full] = (load, counts, covering, asking)
        return load

    def _id_ranks(self) -> np.ndarray:
        ids = self.projection_.member_ids  # only ever grows between fits
        ranks = self.__dict__.get("_id_rank")
        if ranks is None or len(ranks) != len(ids):
            ranks = self.__dict__["_id_rank"] = id_ranks(ids)
        return ranks

    @staticmethod
    def _own_feedback(projection: NetworkProjection) -> list[dict[str, Any]]:
        """Members' own decisions: one a facilitator made on a member's behalf still hides or
        keeps a suggestion, but the ranker never learns it as the member's preference."""
        return [f for f in projection.feedback if not f.get("on_behalf")]

    def _labelled_pairs(self) -> list[tuple[int, int, int]]:
        p = self.projection_
        index = p.member_index
        pairs = [(index[f["member"]], index[f["candidate"]], int(f["decision"] == "accepted"))
                 for f in self._own_feedback(p)
                 if f["member"] in index and f["candidate"] in index]
        pairs += [(index[a], index[b], 1) for a, b, t in p.ties.edges(keys=True)
                  if t == "COLLABORATES_WITH"]
        return pairs

    # -- scoring ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "features_"):
            raise RuntimeError("call fit(projection) first")

    def _hand_score(self, f: dict[str, np.ndarray], rival: np.ndarray,
                    policy: CompetitorPolicy) -> tuple[np.ndarray, np.ndarray]:
        u = f["benefit_to_member"]
        if policy is CompetitorPolicy.PENALISE:
            u = np.where(rival, f["non_core_benefit"], u)
        v = f["benefit_to_partner"]
        score = np.sqrt(u * v)  # in place from here: these are n-wide blocks
        score *= self.mutual_weight
        score += u
        score += self.partner_weight * v
        score += self.text_weight * f["text"]
        score += self.tie_weight * f["tie"]
        score += (self.common_weight / 3) * np.minimum(f["common"], 3)
        if policy is CompetitorPolicy.PENALISE:
            score[rival] *= self.competitor_penalty
        return score, u

    def score_block(self, rows: np.ndarray, policy: CompetitorPolicy = CompetitorPolicy.PENALISE,
                    view: View | str = View.FACILITATOR, *, new_partners: bool = True
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Scores of every candidate for each member in ``rows`` in ``view``; -inf where not
        suggestible.

        With ``new_partners`` (what members and facilitators are shown) a candidate is
        suggestible only when it is no partner yet (no positive tie) and covers something the
        member wants (``benefit_shown`` > 0: its needs, and its own weaknesses outside the public
        view; for a rival under ``penalise``, outside both their lines of business). Without it
        (the offline evaluations' link prediction) every positive score counts.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        view = View(view)
        ranker = self._ranker(view)
        names = None if ranker.is_fitted else HAND_FEATURES
        f = self.features_.block(rows, names, view=view)
        rival = self.features_.competitor(f)
        score, f["benefit_shown"] = self._hand_score(f, rival, policy)
        if ranker.is_fitted:
            score = score * (0.5 + ranker.predict_proba_block(f))
        score = score.astype(np.float64)
        score[np.arange(len(rows)), rows] = -np.inf  # never oneself
        for i, a in enumerate(rows.tolist()):
            score[i, self.suppressed(a)] = -np.inf
        if policy is CompetitorPolicy.EXCLUDE:
            score[rival] = -np.inf
        if new_partners:
            score[f["tie"] > 0] = -np.inf  # existing partners: ``strengthen``, not new
            score[~(f["benefit_shown"] > 0)] = -np.inf  # offers the member nothing it wants
        score[~(score > 0)] = -np.inf  # nothing to offer either way: no suggestion
        return score, f, rival

    def _suggestible(self, a: int, policy: CompetitorPolicy, view: View
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray,
                                np.ndarray]:
        """What ``score_block([a])`` gives new partners, at the suggestible rows only: those
        rows, their scores, features and rivalry, and what every row covers of what ``a``
        wants (float64, the sum ``benefit_to_member`` rounds). Only members covering something
        ``a`` wants can be suggested, so the rest is never scored."""
        f = self.features_
        ranker = self._ranker(view)
        demand = f.demand if view is not View.PUBLIC else f.public_demand
        lo, hi = demand.indptr[a], demand.indptr[a + 1]
        covered = gathered(f.coverage, demand.indices[lo:hi], demand.data[lo:hi])
        benefit = covered.astype(np.float32)
        keep = benefit > 0
        keep[a] = False  # never oneself
        ties = f.tie_strength
        lo, hi = ties.indptr[a], ties.indptr[a + 1]
        keep[ties.indices[lo:hi][ties.data[lo:hi] > 0]] = False  # partners: ``strengthen``
        keep[self.suppressed(a)] = False
        rows = np.flatnonzero(keep)
        features = f.at(a, rows, FEATURES if ranker.is_fitted else HAND_FEATURES, view,
                        benefit)
        rival = f.competitor(features)
        score, features["benefit_shown"] = self._hand_score(features, rival, policy)
        if ranker.is_fitted and rows.size:  # (the model takes no empty batch)
            score = score * (0.5 + ranker.predict_proba_block(features))
        score = score.astype(np.float64)
        kept = (features["benefit_shown"] > 0) & (score > 0)
        if policy is CompetitorPolicy.EXCLUDE:
            kept &= ~rival
        kept = np.flatnonzero(kept)
        return (rows[kept], score[kept], {name: value[kept] for name, value in features.items()},
                rival[kept], covered)

    def suggest(self, member: str, limit: int = 10,
                competitors: CompetitorPolicy | str = CompetitorPolicy.PENALISE,
                view: View | str = View.FACILITATOR) -> list[Suggestion]:
        """The ``limit`` best new partners for ``member``, in the network's order, each with its
        reasons.

        Only members it has no tie with yet and that cover something it wants (see
        ``score_block``); existing partners are in ``strengthen``. The order is network-aware
        (``matching.allocation``): a provider past its quota of #1 places is not #1 while one
        with room covers something, and a need already covered counts less for the next entry.
        ``view="member"`` is what the member itself may be shown; the facilitator view (the
        default) also weighs what the candidates are weak in.
        """
        self._check_fitted()
        if member not in self.projection_.member_index:
            raise UnknownMember(member)
        policy = CompetitorPolicy(competitors)
        view = View(view)
        a = self.projection_.member_index[member]
        rows, scores, f, rival, covered = self._suggestible(a, policy, view)
        if not rows.size:
            return []
        network = self._network_load(view)
        at = np.lexsort((network.id_rank[rows], -scores))  # positions into ``rows``
        candidates = rows[at]
        first, loads = self._first(a, candidates[:FIRST_CHECKS].tolist(), view)
        wanted = self._wanted(a, view)
        at = at[self._contenders(scores[at], candidates, covered[candidates], limit, first)]
        candidates = rows[at]
        rivals = np.flatnonzero(rival[at]) if policy is CompetitorPolicy.PENALISE else ()
        allowed = {int(k): self._allowed(a, int(candidates[k])) for k in rivals}
        gains = contributions(self.features_, wanted, candidates, allowed)
        order = varied_order(scores[at], gains, limit, network.id_rank[candidates],
                             candidates != first)
        candidates, at = candidates.tolist(), at.tolist()
        paths = self._paths(member)
        out = []
        for k, adjusted in order:
            b, i = candidates[k], at[k]
            suggestion = self._suggestion(a, b, adjusted, {n: v[i] for n, v in f.items()},
                                          bool(rival[i]), paths, policy, view)
            if b in loads and loads[b].busy:
                suggestion.reasons.append(Reason(
                    "in_demand", f"{suggestion.name} is asked by {loads[b].askers} members for "
                                 f"what it offers and has room to be the first choice of "
                                 f"{loads[b].quota}", None,
                    (("partner", suggestion.member), ("askers", int(loads[b].askers)),
                     ("quota", int(loads[b].quota)))))
            out.append(suggestion)
        return out

    def _paths(self, member: str) -> Paths:
        """Introduction paths from ``member`` through trusted ties (see ``shortest_paths``)."""
        return shortest_paths(self.trusted_, member, cutoff=4,
                              ordered=self.__dict__.setdefault("_trusted_order", {}))

    def _first(self, a: int, candidates: list[int], view: View) -> tuple[int, dict[int, Any]]:
        """The best candidate with room for ``a`` at #1 (the best one if none of the first
        ``FIRST_CHECKS`` has), and the loads examined: from everyone's full demand in the
        facilitator view, from needs only in the others."""
        network = self._network_load(view)
        loads = {}
        benefit_to_a = network.benefit_to(self.features_, a)
        network.count(self.features_, candidates[:FIRST_CHECKS])  # rarely fewer are examined
        for b in candidates[:FIRST_CHECKS]:
            loads[b] = provider_load(self.features_, b, network, a, benefit_to_a)
            if not loads[b].busy:
                return b, loads
        return candidates[0], loads

    def _network_load(self, view: View) -> NetworkLoad:
        """The providers' shared load data for ``view``'s demand, kept until the next change."""
        full = view is View.FACILITATOR
        cache = self.__dict__.setdefault("_loads", {})
        if full not in cache:
            f = self.features_
            demand = f.demand if full else f.public_demand
            load = cache[full] = NetworkLoad.of(f, demand, self._id_ranks(),
                                                f.demand_t if full else f.public_demand_t)
            # What ``_next_load`` carries across edits: per capability, how many members want
            # it; per member, whether it covers something wanted; how many members want any.
            counts = np.bincount(demand.indices, minlength=demand.shape[1])
            covering = (f.coverage_t @ (counts > 0).astype(np.float64)) != 0
            self.__dict__.setdefault("_load_state", {})[full] = (
                load, counts, covering, int(np.count_nonzero(np.diff(demand.indptr))))
        return cache[full]

    def _contenders(self, scores: np.ndarray, candidates: np.ndarray, bound: np.ndarray,
                    limit: int, first: int) -> np.ndarray:
        """Positions of the candidates that can enter the varied list of ``limit`` entries.

        The list discounts a candidate by at most everything it covers of what the member wants
        (``bound``), so the ``limit``-th best of ``score - bound`` is a floor every entry reaches;
        a candidate scoring below it cannot enter. ``first`` (#1 by the load rule) always can."""
        if len(candidates) <= limit:
            return np.arange(len(candidates))
        floor = np.partition(scores - bound, len(scores) - limit)[len(scores) - limit]
        keep = scores >= floor - 1e-9  # margin: the list compares values rounded to 1e-12
        keep |= candidates == first
        return np.flatnonzero(keep)

    def _wanted(self, a: int, view: View) -> dict[int, float]:
        """What member row ``a`` wants, weighted as its benefit weighs it in ``view``."""
        demand = self.features_.public_demand if view is View.PUBLIC else self.features_.demand
        lo, hi = demand.indptr[a], demand.indptr[a + 1]
        return dict(zip(demand.indices[lo:hi].tolist(),
                        demand.data[lo:hi].astype(np.float64).tolist()))

    def _allowed(self, a: int, b: int) -> set[int]:
        """The needs of ``a`` a rival ``b`` may cover: outside both their lines of business."""
        both = self.features_.zone_of[a] & self.features_.zone_of[b]
        return {d for d in self._wanted(a, View.FACILITATOR) if d not in both}

    def strengthen(self, member: str, limit: int = 10,
                   competitors: CompetitorPolicy | str = CompetitorPolicy.PENALISE,
                   view: View | str = View.FACILITATOR) -> list[Suggestion]:
        """Existing partners (a positive tie, or an accepted suggestion) that cover more of
        what ``member`` wants, or that it could do more for: what to strengthen, best first.
        One it declined within ``decline_days`` is left out, as in ``suggest``.

        Scored as new partners are (the tie adds to the score here), in the same ``view``.
        """
        self._check_fitted()
        if member not in self.projection_.member_index:
            raise UnknownMember(member)
        policy = CompetitorPolicy(competitors)
        view = View(view)
        a = self.projection_.member_index[member]
        f = self.features_.block(np.array([a]), HAND_FEATURES, view=view)
        rival = self.features_.competitor(f)
        score, f["benefit_shown"] = self._hand_score(f, rival, policy)
        row = score[0].astype(np.float64)
        accepted = {b for b, (decision, _) in self.decisions_.get(a, {}).items()
                    if decision == "accepted"}
        partner = f["tie"][0] > 0
        partner[list(accepted)] = True
        partner[a] = False
        partner[list(set(self.suppressed(a)) - accepted)] = False  # declined lately: hidden
        useful = (f["benefit_shown"][0] > 0) | (f["benefit_to_partner"][0] > 0)
        if policy is CompetitorPolicy.EXCLUDE:
            useful &= ~rival[0]
        row[~(partner & useful)] = -np.inf
        top = _top(row, limit, self.projection_.member_ids)
        paths = self._paths(member)
        return [self._suggestion(a, int(b), float(row[b]), {k: v[0, b] for k, v in f.items()},
                                 bool(rival[0, b]), paths, policy, view) for b in top]

    def _suggestion(self, a: int, b: int, score: float, f: dict[str, float], competitor: bool,
                    paths: Paths, policy: CompetitorPolicy, view: View) -> Suggestion:
        p = self.projection_
        mid = p.member_ids[b]
        path = paths.get(mid) if f["tie"] == 0 else None
        shared = overlap(self.features_, a, b) if competitor else []
        reasons = benefit_reasons(self.features_, a, b, non_core_only=competitor and policy is
                                  CompetitorPolicy.PENALISE,
                                  own_weaknesses=view is not View.PUBLIC)
        reasons += relation_reasons(self.features_, a, b, f, competitor, shared, path)
        return Suggestion(
            member=mid, name=p.ties.nodes[mid].get("name") or mid, score=round(score, 4),
            benefit_to_member=round(float(f["benefit_shown"]), 4),
            benefit_to_partner=round(float(f["benefit_to_partner"]), 4),
            competitor=competitor, overlap=shared, reasons=reasons,
            introduction_path=path if path and len(path) > 2 else None)

    def score_all(self, policy: CompetitorPolicy = CompetitorPolicy.PENALISE,
                  block_size: int | None = None, view: View | str = View.FACILITATOR):
        """Yield ``(rows, scores)`` blocks covering every member; blocks hold about 4M pairs."""
        self._check_fitted()
        n = self.projection_.n_members
        size = block_size or max(64, min(1024, 4_000_000 // max(n, 1)))
        blocks = [np.arange(start, min(start + size, n)) for start in range(0, n, size)]
        workers = min(os.cpu_count() or 1, 4)
        # numpy and scipy.sparse release the GIL in their kernels, so threads use every core;
        # at most ``workers`` blocks are in flight, which bounds memory.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque = deque()
            for rows in blocks:
                pending.append((rows, pool.submit(
                    lambda r: self.score_block(r, policy, view)[0], rows)))
                if len(pending) >= workers:
                    done_rows, future = pending.popleft()
                    yield done_rows, future.result()
            while pending:
                done_rows, future = pending.popleft()
                yield done_rows, future.result()

    def best_pairs(self, limit: int = 50,
                   competitors: CompetitorPolicy | str = CompetitorPolicy.PENALISE,
                   block_size: int | None = None) -> list[dict[str, Any]]:
        """The network's best pairs, each pair once, by the mean of its two directed scores."""
        self._check_fitted()
        policy = CompetitorPolicy(competitors)
        n = self.projection_.n_members
        directed: dict[tuple[int, int], float] = {}
        for rows, score in self.score_all(policy, block_size):
            k = min(limit, n - 1)
            if k <= 0:
                break
            top = np.argpartition(-score, k - 1, axis=1)[:, :k]
            values = np.take_along_axis(score, top, axis=1)
            for a, bs, vs in zip(rows.tolist(), top.tolist(), values.tolist()):
                directed.update(((a, b), v) for b, v in zip(bs, vs) if v != -np.inf)
        ids = self.projection_.member_ids
        pairs: dict[tuple[str, str], float] = {}
        for (a, b), s in directed.items():
            key = (min(ids[a], ids[b]), max(ids[a], ids[b]))
            # A direction outside the other member's top list counts as 0: interest is one-sided.
            pairs[key] = max(pairs.get(key, 0.0), (s + directed.get((b, a), 0.0)) / 2)
        ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [{"members": list(key), "score": round(s, 4)} for key, s in ranked]


def _row_columns(matrix: sp.csr_array, row: int) -> np.ndarray:
    """The columns of ``row`` (none past the end), copied."""
    if row >= matrix.shape[0]:
        return np.zeros(0, dtype=matrix.indices.dtype)
    return matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]].copy()


def _same_ties(p: NetworkProjection, members: set[str], ties: list[dict[str, Any]]) -> bool:
    """Whether the projection already holds exactly ``ties`` around ``members``."""
    def key(a: str, b: str, t: str, w: Any, since: Any) -> tuple:
        return a, b, t, None if w is None else float(w), since

    graph = p.ties
    held = {key(a, b, k, d.get("weight"), d.get("since")) for mid in members if mid in graph
            for a, b, k, d in [*graph.out_edges(mid, keys=True, data=True),
                               *graph.in_edges(mid, keys=True, data=True)]}
    given = {key(t["source"], t["target"], t["type"], t.get("weight"), t.get("since"))
             for t in ties if t["source"] in graph and t["target"] in graph}
    return held == given


def _top(row: np.ndarray, limit: int, ids: list[str]) -> list[int]:
    """Indices of the ``limit`` largest finite values, largest first (ties by member id)."""
    finite = np.flatnonzero(np.isfinite(row))
    if finite.size == 0:
        return []
    if finite.size > limit:
        part = finite[np.argpartition(-row[finite], limit - 1)[:limit]]
        # Whatever ties with the last value kept competes by id, not by row.
        finite = finite[row[finite] >= row[part].min()]
    return sorted(finite.tolist(), key=lambda b: (-row[b], ids[b]))[:limit]


class Paths:
    """Shortest paths from one member, read one at a time: ``get(mid)`` is the path to ``mid``
    (``mid`` last) or None."""

    def __init__(self, parent: dict[str, str | None]):
        self._parent = parent

    def get(self, mid: str) -> list[str] | None:
        if mid not in self._parent:
            return None
        path = [mid]
        while (step := self._parent[path[-1]]) is not None:
            path.append(step)
        return path[::-1]


def shortest_paths(adjacency: dict[str, set[str]], source: str, cutoff: int,
                   ordered: dict[str, list[str]] | None = None) -> Paths:
    """Shortest paths from ``source`` of at most ``cutoff`` steps, breadth first with neighbours
    in id order, so among equally short paths the choice depends on the graph only. Each
    member reached keeps the member it was reached from: a suggestion reads ten paths of the
    hundreds reached. ``ordered``, when given, keeps each node's neighbours in id order for
    the next call (the caller empties it when ``adjacency`` changes)."""
    ordered = {} if ordered is None else ordered
    parent: dict[str, str | None] = {source: None}
    frontier = [source]
    for _ in range(cutoff):
        following = []
        for node in frontier:
            neighbours = ordered.get(node)
            if neighbours is None:
                neighbours = ordered[node] = sorted(adjacency.get(node, ()))
            for other in neighbours:
                if other not in parent:
                    parent[other] = node
                    following.append(other)
        frontier = following
    return Paths(parent)
