"""Random networks for property tests (Hypothesis strategies), in the import format.

Every network defines its own small taxonomy (ids prefixed by the network id, so it loads into a
database shared with other tests) with each capability kind, a hierarchy and synonyms, so that
needs, weaknesses, narrower offers, rivals and text similarity all occur.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CAPABILITIES = [  # id, label, kind, broader, synonyms
    ("genetics", "Genetic testing", "service", None, ["análisis genético"]),
    ("pgt", "Preimplantation genetic testing", "service", "genetics", ["PGT", "DGP"]),
    ("fuel", "Fuel", "purchase", None, []),
    ("diesel", "Diesel", "purchase", "fuel", ["gasóleo"]),
    ("quality", "Quality management", "knowhow", None, ["gestión de calidad"]),
    ("iso", "ISO 9001 certification", "certification", None, []),
    ("welding", "Welding", "service", None, ["soldadura"]),
    ("bread", "Bread", "product", None, ["pan"]),
]
SERVES = {"iso": ["quality"]}  # a certification serves the know-how (taxonomy ``serves``)
NEED_KINDS = {"service": "service", "product": "partner", "purchase": "purchase",
              "knowhow": "knowhow", "certification": "knowhow"}
SECTORS = ["metal", "food"]
REGIONS = ["Madrid", "Herencia"]
CUSTOMERS = ["hospitals", "retail", "export-latam"]  # customer segments a member sells to
WORDS = ["welding", "bread", "quality", "genetic", "testing", "fuel", "family", "workshop",
         "clinic", "bakery", "certified", "export"]
TIE_TYPES = ["COLLABORATES_WITH", "COMPETES_WITH", "SUPPLIES", "TRUSTS"]


def taxonomy(nid: str) -> list[dict[str, Any]]:
    return [{"id": f"{nid}-{cid}", "label": label, "kind": kind,
             **({"broader": f"{nid}-{broader}"} if broader else {}), "synonyms": synonyms,
             **({"serves": [f"{nid}-{d}" for d in SERVES[cid]]} if cid in SERVES else {})}
            for cid, label, kind, broader, synonyms in CAPABILITIES]


def _entries(draw, key: str, value: str) -> list[dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(range(len(CAPABILITIES))), unique=True, max_size=4))
    return [{"id": key + CAPABILITIES[j][0], value: draw(st.integers(1, 5))} for j in chosen]


@st.composite
def member_profiles(draw, nid: str, mid: str) -> dict[str, Any]:
    """One member's private and public data; its weaknesses may be empty."""
    prefix = f"{nid}-"
    needs = []
    for entry in _entries(draw, prefix, "urgency"):
        kind = NEED_KINDS[next(c[2] for c in CAPABILITIES if prefix + c[0] == entry["id"])]
        volume = draw(st.none() | st.integers(0, 50_000)) if kind == "purchase" else None
        needs.append({**entry, "kind": kind, **({"volume": volume} if volume is not None else {})})
    words = draw(st.lists(st.sampled_from(WORDS), max_size=5))
    customers = sorted(draw(st.sets(st.sampled_from(CUSTOMERS), max_size=2)))
    return {"id": mid, "name": mid.title(), "sector": draw(st.sampled_from(SECTORS)),
            "region": draw(st.sampled_from(REGIONS)),
            **({"description": " ".join(words)} if words else {}),
            **({"customers": customers} if customers else {}),
            "contact": f"{mid}@example.org",
            "capabilities": [{**e, **draw(st.fixed_dictionaries(
                {}, optional={"capacity": st.integers(1, 3), "core": st.just(True)}))}
                for e in _entries(draw, prefix, "level")],
            "weaknesses": draw(weakness_lists(nid)),
            "needs": needs}


def weakness_lists(nid: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A member's weaknesses: distinct capabilities of the network's taxonomy, any severity."""
    return st.lists(st.tuples(st.sampled_from([c[0] for c in CAPABILITIES]), st.integers(1, 5)),
                    unique_by=lambda t: t[0], max_size=4).map(
        lambda pairs: [{"id": f"{nid}-{cid}", "severity": s} for cid, s in pairs])


@st.composite
def network_documents(draw, nid: str, min_members: int = 3, max_members: int = 7
                      ) -> dict[str, Any]:
    """A whole import document: members with capabilities, weaknesses and needs, and ties."""
    n = draw(st.integers(min_members, max_members))
    ids = [f"m{i}" for i in range(n)]
    members = [draw(member_profiles(nid, mid)) for mid in ids]
    pairs = [(a, b) for a in ids for b in ids if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=2 * n))
    ties = [{"source": a, "target": b, "type": draw(st.sampled_from(TIE_TYPES)),
             "weight": draw(st.sampled_from([0.3, 0.6, 0.9]))} for a, b in chosen]
    return {"network": {"id": nid, "name": f"Network {nid}"}, "capabilities": taxonomy(nid),
            "members": members, "ties": ties}


@st.composite
def feedback_rows(draw, ids: list[str], at_least: int = 0) -> list[dict[str, Any]]:
    """Decisions on past suggestions between the given members (enough to fit the ranker)."""
    pairs = [(a, b) for a in ids for b in ids if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=min(at_least, len(pairs)),
                           max_size=max(at_least, 12)))
    return [{"member": a, "candidate": b,
             "decision": draw(st.sampled_from(["accepted", "declined"])),
             "at": f"2026-0{1 + k % 9}-1{k % 10}T10:00:00+00:00"} for k, (a, b) in enumerate(chosen)]
