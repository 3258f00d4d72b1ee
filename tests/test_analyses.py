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


def test_a_late_roadmap_reuses_the_public_part_of_the_refresh(
        db: Database, nid: str, monkeypatch) -> None:
    """An analysis asked for the first time since the last refresh runs on a copy of its own;
    at the same state of the network, a member's roadmap still reuses the public part the
    refresh built (seconds at 10,000 members) instead of building it again."""
    import api.routers.playbook as playbook

    import_network(db, small_document(nid))
    built = []
    build = playbook.public_part

    def counted(*args, **kwargs):
        built.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(playbook, "public_part", counted)
    analyses = Analyses(debounce=0.0)
    try:
        part, as_of = analyses.get(db, nid, "roadmap-public",
                                   lambda m: playbook._public_part(m, []))
        late, late_as_of = analyses.get(db, nid, ("roadmap", "m0"),
                                        lambda m: playbook._public_part(m, []), personal=True)
        assert late is part and late_as_of == as_of and len(built) == 1
    finally:
        analyses.close()


def test_a_late_analysis_reads_the_refreshs_copy_until_the_next_write(
        db: Database, nid: str) -> None:
    """The refresh keeps its copy of the live matcher until the live one next changes: an
    analysis asked late reads it (no copy taken on the request path), with the refresh's
    ``as_of``. The next write lets it go before it is applied (an edit never copies arrays
    for it), and an analysis asked after the write reads a copy that has it."""
    from graph.feedback import record_feedback

    import_network(db, small_document(nid))
    analyses = Analyses(debounce=0.0)
    copies = []
    taking = analyses.engine.frozen

    def counted(*args, **kwargs):
        copies.append(kwargs.get("kept", False))
        return taking(*args, **kwargs)

    analyses.engine.frozen = counted
    read = []

    def suppressed(matcher):  # what the analysis read: the clinic's suppressed candidates
        read.append(matcher)
        p = matcher.projection_
        return sorted(p.member_ids[b] for b in matcher.suppressed(p.member_index["clinic"]))

    try:
        first, as_of = analyses.get(db, nid, "first", suppressed)
        late, late_as_of = analyses.get(db, nid, "late", suppressed)
        assert copies == [True] and read[1] is read[0] and late_as_of == as_of
        assert first == late == []
        kept = analyses._snapshots[nid].kept
        assert kept is not None and kept.copy is read[0]

        record_feedback(db, nid, "clinic", "genlab", "declined")
        with analyses.engine.reading(db, nid) as live:  # the write is applied
            assert "genlab" in [live.projection_.member_ids[b]
                            for b in live.suppressed(live.projection_.member_index["clinic"])]
        assert kept.copy is None  # let go before the write was applied
        after, after_as_of = analyses.get(db, nid, "after", suppressed)
        assert after == ["genlab"] and after_as_of["version"] > as_of["version"]
        # One copy of its own (a background refresh may take its kept one meanwhile).
        assert copies.count(False) == 1 and all(m is not read[0] for m in read[2:])
        assert suppressed(read[0]) == []  # the copy still read by the refresh: as it was
    finally:
        analyses.close()
