"""Background analyses: which results a refresh recomputes after the network changes."""

from __future__ import annotations

from collections import Counter

from api.analyses import PERSONAL_LIMIT, Analyses
from graph.database import Database
from graph.store import import_network
from tests.conftest import small_document


def test_a_refresh_recomputes_network_analyses_and_only_the_readers_who_asked_last(
        db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    analyses = Analyses(debounce=0.0)
    computed: Counter = Counter()

    def counted(name):
        def compute(matcher):
            computed[name] += 1
            return name
        return compute

    try:
        analyses.get(db, nid, "overview", counted("overview"))
        readers = [("roadmap", f"m{k}") for k in range(PERSONAL_LIMIT + 5)]
        for name in readers:
            assert analyses.get(db, nid, name, counted(name), personal=True)[0] == name
        again = readers[0]  # asked again: the most recent reader now
        analyses.get(db, nid, again, counted(again), personal=True)
        computed.clear()

        import_network(db, small_document(nid, newcomer=True))  # a new version of the network
        result, as_of = analyses.get(db, nid, "overview", counted("overview"), fresh=True)
        assert result == "overview" and as_of["version"] > 0
        recent = {again, *readers[-(PERSONAL_LIMIT - 1):]}
        assert computed == Counter({"overview": 1, **{name: 1 for name in recent}})
        # A reader not refreshed still gets its answer, computed when it asks.
        forgotten = readers[1]
        assert analyses.get(db, nid, forgotten, counted(forgotten), personal=True)[0] == forgotten
        assert computed[forgotten] == 1
    finally:
        analyses.close()
