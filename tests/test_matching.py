"""The matching engine on small hand-made networks with known answers (pure, no database)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from matching.features import POSITIVE_TIES
from matching.projection import build_projection
from matching.scoring import PartnerMatcher, UnknownMember
from seed_data import SEED_DIR
from tests.conftest import member

TAXONOMY = [
    {"id": "genetics", "label": "Genetic testing", "kind": "service", "synonyms": ["genética"]},
    {"id": "pgt", "label": "Preimplantation genetic testing", "kind": "service",
     "broader": "genetics", "synonyms": ["PGT", "DGP"]},
    {"id": "carrier", "label": "Carrier screening", "kind": "service", "broader": "genetics"},
    {"id": "ivf", "label": "In vitro fertilisation", "kind": "service", "synonyms": ["FIV"]},
    {"id": "fuel", "label": "Fuel", "kind": "purchase"},
    {"id": "diesel", "label": "Diesel", "kind": "purchase", "broader": "fuel"},
    {"id": "quality", "label": "Quality management", "kind": "knowhow"},
    {"id": "english", "label": "English", "kind": "knowhow"},
    {"id": "secret", "label": "Accounting", "kind": "service"},
]


def tie(a: str, b: str, kind: str = "TRUSTS") -> dict[str, Any]:
    return {"source": a, "target": b, "type": kind, "weight": 0.8}


def fit(members, ties=(), feedback=(), today=None) -> PartnerMatcher:
    projection = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties, feedback)
    return PartnerMatcher().fit(projection, today=today)


def ranking(matcher: PartnerMatcher, mid: str, **kwargs) -> list[str]:
    return [s.member for s in matcher.suggest(mid, limit=20, **kwargs)]


CLINIC = member("clinic", caps=[("ivf", 5)], needs=[("pgt", 5, "service"), ("diesel", 1, "purchase")],
                sector="clinic", region="Madrid")


def test_the_only_provider_of_an_urgent_need_ranks_first() -> None:
    matcher = fit([
        CLINIC,
        member("genlab", caps=[("pgt", 4)]),
        member("fuelco", caps=[("diesel", 5), ("fuel", 5)], needs=[("ivf", 3, "service")]),
        member("nobody", caps=[("english", 2)]),
    ])
    assert ranking(matcher, "clinic")[0] == "genlab"


def test_a_narrower_or_broader_provider_ranks_above_one_covering_nothing() -> None:
    matcher = fit([
        member("clinic", needs=[("pgt", 4, "service")]),
        member("broad-lab", caps=[("genetics", 5)]),
        member("sibling-lab", caps=[("carrier", 5)]),
        member("nothing", caps=[("english", 5)], needs=[("quality", 3, "knowhow")]),
    ])
    order = ranking(matcher, "clinic")
    assert order == ["broad-lab"]  # a sibling (carrier screening for PGT) is no substitute
    assert "nothing" not in order  # covers nothing, and the clinic offers it nothing
    narrow = fit([member("clinic", needs=[("genetics", 4, "service")]),
                  member("pgt-lab", caps=[("pgt", 5)]),
                  member("nothing", caps=[("english", 5)])])
    assert ranking(narrow, "clinic") == ["pgt-lab"]


def test_synonyms_count_as_the_same_capability() -> None:
    taxonomy_twin = {"id": "dgp", "label": "DGP", "kind": "service"}  # Spanish name, own id
    projection = build_projection({"id": "t", "name": "T"}, [*TAXONOMY, taxonomy_twin],
                                  [member("clinic", needs=[("pgt", 5, "service")]),
                                   member("lab", caps=[("dgp", 4)])], [])
    [suggestion] = PartnerMatcher().fit(projection).suggest("clinic")
    assert suggestion.member == "lab" and suggestion.benefit_to_member == pytest.approx(0.8)


def test_mutual_benefit_is_reported_and_rewarded() -> None:
    matcher = fit([
        CLINIC,
        member("one-sided", caps=[("pgt", 4)]),
        member("mutual", caps=[("pgt", 4)], needs=[("ivf", 4, "service")]),
    ])
    first, second = matcher.suggest("clinic")
    assert first.member == "mutual" and first.benefit_to_partner > 0
    assert second.member == "one-sided" and second.benefit_to_partner == 0
    assert first.benefit_to_member == second.benefit_to_member
    assert any(r.kind == "partner_needs" for r in first.reasons)


def test_an_inferred_competitor_is_flagged_and_can_be_excluded() -> None:
    members = [
        CLINIC,
        member("rival", caps=[("ivf", 5), ("pgt", 3), ("quality", 4)], sector="clinic",
               region="Madrid"),
        member("lab", caps=[("pgt", 3)], sector="lab", region="Madrid"),
    ]
    matcher = fit(members)
    by_id = {s.member: s for s in matcher.suggest("clinic", competitors="include")}
    assert by_id["rival"].competitor and by_id["rival"].overlap == ["ivf"]
    assert not by_id["lab"].competitor
    assert "rival" not in ranking(matcher, "clinic", competitors="exclude")
    # under the default policy a rival only counts for non-core help, and lower
    penalised = {s.member: s for s in matcher.suggest("clinic")}
    assert penalised.get("rival") is None or penalised["rival"].score < by_id["rival"].score


def test_a_rival_is_suggested_for_non_core_cooperation() -> None:
    members = [
        member("clinic", caps=[("ivf", 5)], weak=[("quality", 4)], sector="clinic", region="M"),
        member("rival", caps=[("ivf", 5), ("quality", 5)], sector="clinic", region="M"),
    ]
    [suggestion] = fit(members).suggest("clinic")
    assert suggestion.competitor
    assert [r.kind for r in suggestion.reasons][:1] == ["covers_weakness"]
    assert "non-core" in next(r.text for r in suggestion.reasons if r.kind == "competitor")


def test_explicit_competes_with_tie_flags_a_rival() -> None:
    members = [CLINIC, member("lab", caps=[("pgt", 5)], sector="lab", region="Madrid")]
    matcher = fit(members, [tie("clinic", "lab", "COMPETES_WITH")])
    assert matcher.suggest("clinic", competitors="include")[0].competitor


def test_introduction_paths_go_through_real_trusted_ties() -> None:
    members = [CLINIC, member("cro", caps=[("english", 3)], name="CRO Iberia"),
               member("hub", caps=[("english", 2)]), member("genlab", caps=[("pgt", 5)])]
    ties = [tie("clinic", "hub"), tie("hub", "cro", "COLLABORATES_WITH"), tie("cro", "genlab")]
    matcher = fit(members, ties)
    genlab = next(s for s in matcher.suggest("clinic") if s.member == "genlab")
    path = genlab.introduction_path
    assert path == ["clinic", "hub", "cro", "genlab"]
    for a, b in zip(path, path[1:]):
        assert matcher.projection_.ties.has_edge(a, b) or matcher.projection_.ties.has_edge(b, a)
    direct = fit(members, [tie("clinic", "cro"), tie("cro", "genlab")])
    genlab = next(s for s in direct.suggest("clinic") if s.member == "genlab")
    assert genlab.introduction_path == ["clinic", "cro", "genlab"]
    assert any("CRO Iberia knows both of you" in r.text for r in genlab.reasons)


def test_reasons_carry_their_params_for_other_languages() -> None:
    members = [
        member("clinic", caps=[("ivf", 4)], needs=[("pgt", 5, "service")]),
        member("genlab", caps=[("pgt", 4)], needs=[("ivf", 2, "service")]),
    ]
    [suggestion] = fit(members).suggest("clinic")
    by_kind = {r.kind: r.as_dict() for r in suggestion.reasons}
    assert by_kind["covers_need"]["params"] == {
        "partner": "genlab", "offered": "pgt", "level": 4, "need": "pgt", "relation": "same",
        "urgency": 5}
    assert "which you need urgently (5/5)" in by_kind["covers_need"]["text"]
    assert by_kind["partner_needs"]["params"] == {
        "partner": "genlab", "offered": "ivf", "level": 4, "need": "ivf", "relation": "same",
        "urgency": 2}


def test_reasons_never_carry_another_members_weaknesses() -> None:
    members = [
        member("clinic", caps=[("secret", 5), ("ivf", 4)], needs=[("pgt", 5, "service")]),
        member("genlab", caps=[("pgt", 5)], weak=[("secret", 5)], needs=[("ivf", 2, "service")]),
    ]
    [suggestion] = fit(members).suggest("clinic")
    shown = json.dumps(suggestion.as_dict())
    assert suggestion.benefit_to_partner > 0  # the clinic would help with genlab's weakness...
    assert "secret" not in shown and "Accounting" not in shown  # ...but it is never named


def test_feedback_changes_later_rankings() -> None:
    members = [CLINIC, member("genlab", caps=[("pgt", 5)]), member("otherlab", caps=[("pgt", 4)])]
    today = dt.date(2026, 11, 23)
    assert ranking(fit(members, today=today), "clinic")[0] == "genlab"
    declined = [{"member": "clinic", "candidate": "genlab", "decision": "declined",
                 "at": "2026-11-01T10:00:00+00:00"}]
    assert "genlab" not in ranking(fit(members, feedback=declined, today=today), "clinic")
    long_ago = [{**declined[0], "at": "2025-01-01T10:00:00+00:00"}]
    assert "genlab" in ranking(fit(members, feedback=long_ago, today=today), "clinic")
    accepted = [{**declined[0], "decision": "accepted"}]
    matcher = fit(members, feedback=accepted, today=today)
    assert "genlab" not in ranking(matcher, "clinic")  # no longer new
    assert "clinic" not in ranking(matcher, "genlab")


def test_enough_feedback_trains_the_ranker_which_reweights_scores() -> None:
    labs = [member(f"lab{i}", caps=[("pgt", 3 + i % 3)], sector="lab" if i % 2 else "clinic",
                   region="Madrid") for i in range(12)]
    clinics = [member(f"clinic{i}", needs=[("pgt", 4, "service")], caps=[("ivf", 4)],
                      sector="clinic", region="Madrid") for i in range(6)]
    feedback = [{"member": f"clinic{i % 6}", "candidate": f"lab{j}",
                 "decision": "accepted" if j % 2 else "declined", "at": "2026-11-0{}".format(1 + i % 9)}
                for i, j in enumerate(range(12))]
    before = fit([*labs, *clinics], today=dt.date(2026, 11, 23))
    after = fit([*labs, *clinics], feedback=feedback, today=dt.date(2026, 11, 23))
    assert not before.ranker_.is_fitted and after.ranker_.is_fitted
    assert [s.score for s in before.suggest("clinic0")] != [s.score for s in after.suggest("clinic0")]



def test_the_rankers_probabilities_are_the_fitted_pipelines_bit_for_bit() -> None:
    """Scoring reads the fitted model's arithmetic directly rather than through scikit-learn's
    ``predict_proba`` (its checks cost more than the arithmetic): same bits, every view."""
    import numpy as np

    from benchmarks.synthetic import generate
    from matching.features import FEATURES, View
    from matching.ranker import FeedbackRanker, stack

    doc = generate(300, 2)
    rng = np.random.default_rng(3)
    ids = [m["id"] for m in doc["members"]]
    feedback = [{"member": ids[i], "candidate": ids[j], "decision": "accepted" if k % 3 else
                 "declined", "at": "2026-11-01T10:00:00+00:00"}
                for k, (i, j) in enumerate(rng.choice(300, (40, 2))) if i != j]
    matcher = PartnerMatcher().fit(build_projection(doc["network"], doc["capabilities"],
                                                    doc["members"], doc["ties"],
                                                    feedback=feedback))
    rows = np.sort(rng.choice(300, 7, replace=False))
    for view in View:
        ranker = matcher._ranker(view)
        assert isinstance(ranker, FeedbackRanker) and ranker.is_fitted
        block = matcher.features_.block(rows, FEATURES, view=view)
        expected = ranker.model_.predict_proba(stack(block))[:, 1].reshape(len(rows), 300)
        got = ranker.predict_proba_block(block)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.array_equal(got, expected), view
        assert len(np.unique(got)) > 10  # (a real spread of probabilities, not a constant)

# -- the contract every ranking keeps, on every seed network --------------------------------
SEEDS = sorted(p for p in SEED_DIR.glob("*.json") if p.name != "taxonomy.json")


@pytest.fixture(scope="module", params=SEEDS, ids=[p.stem for p in SEEDS])
def seed_matcher(request) -> PartnerMatcher:
    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text())["capabilities"]
    doc = json.loads(request.param.read_text())
    projection = build_projection(doc["network"], taxonomy + doc.get("capabilities", []),
                                  doc["members"], doc["ties"])
    return PartnerMatcher().fit(projection)


def test_contract_on_seed_networks(seed_matcher: PartnerMatcher) -> None:
    p = seed_matcher.projection_

    def capabilities(matrix, i: int) -> set[str]:
        return {p.capability_ids[j] for j in matrix[[i], :].indices}

    for mid in p.member_ids:
        a = p.member_index[mid]
        suggestions = seed_matcher.suggest(mid, limit=5)
        assert len(suggestions) <= 5
        assert mid not in [s.member for s in suggestions]
        scores = [s.score for s in suggestions]
        # after #1 (the best provider with room for this member) the order is by score
        assert scores[1:] == sorted(scores[1:], reverse=True)
        assert suggestions == seed_matcher.suggest(mid, limit=5)  # deterministic
        partners = {b for _, b, t in p.ties.out_edges(mid, keys=True) if t in POSITIVE_TIES}
        partners |= {b for b, _, t in p.ties.in_edges(mid, keys=True) if t in POSITIVE_TIES}
        assert not partners & {s.member for s in suggestions}  # new partners only
        assert all(s.benefit_to_member > 0 for s in suggestions)  # each covers something
        mine = capabilities(p.urgencies, a) | capabilities(p.severities, a)
        for s in suggestions:
            theirs_public = capabilities(p.urgencies, p.member_index[s.member])
            for reason in s.reasons:  # every named capability is A's own or B's public need
                if reason.kind == "partner_needs":
                    assert reason.capability in theirs_public
                elif reason.kind in ("covers_need", "covers_weakness"):
                    assert reason.capability in mine
                else:
                    assert reason.capability is None
    with pytest.raises(UnknownMember):
        seed_matcher.suggest("no-such-member")


def test_a_facilitator_can_reject_an_inferred_rivalry() -> None:
    members = [
        member("shop", caps=[("bread", 4)], needs=[("quality", 3, "knowhow")], sector="food",
               region="H"),
        member("baker", caps=[("bread", 4), ("quality", 4)], sector="food", region="H"),
    ]
    taxonomy = [*TAXONOMY, {"id": "bread", "label": "Bread", "kind": "product"}]

    def suggestion(verdicts):
        projection = build_projection({"id": "t", "name": "T"}, taxonomy, members, [],
                                      verdicts=verdicts)
        [found] = PartnerMatcher().fit(projection).suggest("shop")
        return found

    assert suggestion([]).competitor  # same market, the same core offer: inferred
    rejected = suggestion([{"a": "baker", "b": "shop", "verdict": "not_rivals"}])
    assert not rejected.competitor and not any(r.kind == "competitor" for r in rejected.reasons)


def test_features_at_some_columns_are_the_whole_blocks_values_bit_for_bit() -> None:
    """The rankers learn from blocks restricted to the members each row is paired with
    (``NetworkFeatures.block(columns=...)``): the same values the whole-network block holds
    there, for a request's few rows and for a chunk of many, in every view."""
    import numpy as np

    from benchmarks.synthetic import generate
    from matching.features import FEATURES, View

    doc = generate(400, 3)
    matcher = PartnerMatcher().fit(build_projection(doc["network"], doc["capabilities"],
                                                    doc["members"], doc["ties"]))
    features, rng = matcher.features_, np.random.default_rng(1)
    for size in (3, 100):
        rows = np.sort(rng.choice(400, size, replace=False))
        columns = np.unique(rng.choice(400, 60))
        for view in View:
            whole = features.block(rows, view=view)
            some = features.block(rows, view=view, columns=columns)
            for name in FEATURES:
                assert some[name].dtype == whole[name].dtype
                assert np.array_equal(some[name], whole[name][:, columns]), (size, view, name)
