"""The network-aware order of a member's suggestions (``matching.allocation``): a varied list."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from matching.allocation import NetworkLoad
from matching.features import View
from matching.projection import build_projection
from matching.scoring import PartnerMatcher
from tests.networks import network_documents, taxonomy

NID = "order"


def test_a_need_left_uncovered_by_the_best_few_still_reaches_the_list() -> None:
    """Twenty-five welders outscore five bakers for a member that needs welding most and bread
    too: the second entry is a baker, not a second welder."""
    welders = [{"id": f"a{i:02d}", "name": f"Welder {i}", "sector": "metal",
                "capabilities": [{"id": f"{NID}-welding", "level": 5}]} for i in range(25)]
    bakers = [{"id": f"b{i}", "name": f"Baker {i}", "sector": "food",
               "capabilities": [{"id": f"{NID}-bread", "level": 5}]} for i in range(5)]
    asker = {"id": "q", "name": "Asker", "sector": "retail",
             "needs": [{"id": f"{NID}-welding", "urgency": 5, "kind": "service"},
                       {"id": f"{NID}-bread", "urgency": 3, "kind": "partner"}]}
    matcher = PartnerMatcher().fit(build_projection(
        {"id": NID, "name": "Order"}, taxonomy(NID), [asker, *welders, *bakers], []))
    listed = [s.member for s in matcher.suggest("q", limit=5, view=View.MEMBER)]
    assert listed[0].startswith("a") and listed[1].startswith("b")


def _loads_counted_together_and_alone(matcher: PartnerMatcher) -> None:
    """Every provider's askers, quota and cut, counted for all providers in one pass
    (``NetworkLoad.count``, what a suggestion does for its first candidates) and one by one."""
    f = matcher.features_
    rows = list(range(matcher.projection_.n_members))
    for view in (View.FACILITATOR, View.MEMBER):
        full = view is View.FACILITATOR
        demand, demand_t = (f.demand, f.demand_t) if full else (f.public_demand,
                                                                 f.public_demand_t)
        together = NetworkLoad.of(f, demand, demand_t=demand_t)
        alone = NetworkLoad.of(f, demand, demand_t=demand_t)
        together.count(f, rows[::-1])
        assert together.providing == {b: alone.of_provider(f, b) for b in rows}, view


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=network_documents(NID, min_members=2, max_members=9))
def test_providers_counted_together_have_the_loads_counted_one_by_one(doc) -> None:
    """Declared capacities, fair shares above one, ties and providers covering nothing."""
    _loads_counted_together_and_alone(PartnerMatcher().fit(build_projection(
        doc["network"], doc["capabilities"], doc["members"], doc["ties"])))


def test_busy_providers_of_a_large_network_counted_together_are_counted_one_by_one() -> None:
    from benchmarks.synthetic import generate

    doc = generate(300, 2)
    _loads_counted_together_and_alone(PartnerMatcher().fit(build_projection(
        doc["network"], doc["capabilities"], doc["members"], doc["ties"])))
