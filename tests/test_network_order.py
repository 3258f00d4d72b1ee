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
        assert together.providing.as_dict() == {b: alone.of_provider(f, b) for b in rows}, view


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


def test_providers_loads_updated_by_moved_askers_are_what_a_count_gives() -> None:
    """After an edit, a provider whose askers moved keeps its load updated by the moves
    (``Providers.move``, for several providers at once) rather than counted again, unless one
    crosses its cut: on random askers with frequent ties, every load kept equals the count,
    and both ways are taken."""
    import numpy as np
    import scipy.sparse as sp

    from matching.allocation import NetworkLoad, Providers

    rng = np.random.default_rng(0)
    levels = [0.0, 0.5, 1.0, 2.0]  # few values: ties with the cut are common
    updated = counted = 0
    for _ in range(1000):
        n, providers = int(rng.integers(3, 12)), int(rng.integers(1, 5))
        id_rank = rng.permutation(n)
        load = NetworkLoad(sp.csr_array((n, 1)), sp.csr_array((1, n)), 1, np.zeros(1, bool),
                           id_rank)
        quotas = rng.integers(1, 4, providers)
        benefit = rng.choice(levels, (providers, n))  # provider x asker
        table = Providers(providers)
        for b in range(providers):
            table[b] = load._providing(benefit[b], int(quotas[b]))
        after = benefit.copy()
        askers = rng.choice(n, int(rng.integers(1, 3)), replace=False)
        after[:, askers] = rng.choice(levels, (providers, len(askers)))
        moved = []
        for r in askers:  # one asker at a time, as an edit's rows are
            changed = np.flatnonzero(benefit[:, r] != after[:, r])
            table.move(changed, benefit[changed, r], after[changed, r], int(id_rank[r]))
            moved.append(changed)
        table.settle(np.unique(np.concatenate(moved)))
        for b in range(providers):
            carried = table.get(b)
            if carried is None:
                counted += 1
            else:
                updated += 1
                assert carried == load._providing(after[b], int(quotas[b])), (benefit, after)
    assert updated > 500 and counted > 500
