"""Deterministic synthetic network documents shaped like the seed networks, for benchmarks.

The document defines its own taxonomy (three levels: domains -> areas -> specialities, a few
hundred capabilities of mixed kinds, with synonyms), so it validates against an empty stored
taxonomy. Members get 3-8 capabilities (levels 1-5), 0-3 weaknesses (never on a capability they
hold at level >= 3), 1-7 needs (purchases with a yearly volume, services, know-how, partners) and
about three ties each of the four tie types, with weight and date.

    python benchmarks/synthetic.py --members 10000 -o /tmp/net-10k.json

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same
document, byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

DOMAINS = (
    "metalwork", "food", "hospitality", "construction", "transport", "health", "retail",
    "textiles", "agriculture", "software", "energy", "media", "chemicals", "tourism",
)
AREAS = ("design", "production", "maintenance", "logistics", "quality", "supplies", "sales",
         "training", "equipment")
SPECIALITIES = ("basic", "advanced", "industrial", "certified", "digital", "export",
                "sustainable", "custom")
# Spanish-ish renderings, so synonyms look like the seeds' bilingual ones.
ES = {"design": "diseño", "production": "producción", "maintenance": "mantenimiento",
      "logistics": "logística", "quality": "calidad", "supplies": "suministros", "sales": "ventas",
      "training": "formación", "equipment": "equipos", "basic": "básico", "advanced": "avanzado",
      "industrial": "industrial", "certified": "certificado", "digital": "digital",
      "export": "exportación", "sustainable": "sostenible", "custom": "a medida"}
# Kind of an area's capabilities (an area's children mostly share it, as in the seed taxonomy).
AREA_KINDS = {"design": "service", "production": "product", "maintenance": "service",
              "logistics": "service", "quality": "certification", "supplies": "purchase",
              "sales": "service", "training": "knowhow", "equipment": "asset"}
KIND_MIX = ("service", "product", "knowhow", "certification", "asset", "purchase")

SECTORS = ("automotive", "hospitality", "metalwork", "construction", "food", "retail",
           "services", "transport", "health", "media")
REGIONS = ("north", "south", "east", "west", "centre", "coast", "mountains", "islands")
SIZES = ("micro", "small", "medium", "large")
SIZE_P = (0.5, 0.3, 0.15, 0.05)
TIE_TYPES = ("COLLABORATES_WITH", "COMPETES_WITH", "SUPPLIES", "TRUSTS")
TIE_P = (0.3, 0.15, 0.25, 0.3)
WORDS = ("family", "firm", "workshop", "founded", "second", "generation", "clients", "region",
         "quality", "certified", "export", "local", "services", "products", "team", "experts",
         "partners", "network", "since", "growing", "customers", "orders", "premises", "fleet",
         "kitchen", "store", "factory", "studio", "clinic", "laboratory", "cooperative", "brand",
         "online", "seasonal", "wholesale", "retail", "repairs", "installations", "projects")

TIES_PER_MEMBER = 3.0
LOCAL_TIES = 0.6  # share of ties to a nearby member id (a loose community structure)


def taxonomy(rng: np.random.Generator, domains: int = len(DOMAINS)) -> list[dict[str, Any]]:
    """Three levels: ``domains`` roots, each with all areas, each with 2-4 specialities."""
    caps: list[dict[str, Any]] = []
    for domain in DOMAINS[:domains]:
        caps.append({"id": domain, "label": domain.capitalize(), "kind": "service",
                     "synonyms": [f"{domain} sector"]})
        for area in AREAS:
            area_id = f"{domain}-{area}"
            kind = AREA_KINDS[area]
            caps.append({"id": area_id, "label": f"{domain.capitalize()} {area}", "kind": kind,
                         "broader": domain, "synonyms": [f"{ES[area]} ({domain})"]})
            for spec in rng.choice(SPECIALITIES, size=int(rng.integers(2, 5)), replace=False):
                spec_kind = kind if rng.random() < 0.7 else str(rng.choice(KIND_MIX))
                caps.append({"id": f"{area_id}-{spec}", "label": f"{spec.capitalize()} {domain} {area}",
                             "kind": spec_kind, "broader": area_id,
                             "synonyms": [f"{ES[area]} {ES[spec]} ({domain})"]})
    return caps


def _description(rng: np.random.Generator, sector: str, labels: list[str]) -> str:
    words = [WORDS[k] for k in rng.integers(0, len(WORDS), size=int(rng.integers(8, 20)))]
    return (f"{sector.capitalize()} firm: " + " ".join(words) + ". Strong in "
            + ", ".join(labels) + ".")


def generate(members: int, seed: int = 0, nid: str | None = None) -> dict[str, Any]:
    """A valid network document with ``members`` members."""
    rng = np.random.default_rng(seed)
    caps = taxonomy(rng)
    cap_ids = np.array([c["id"] for c in caps])
    kinds = np.array([c["kind"] for c in caps])
    labels = {c["id"]: c["label"] for c in caps}
    purchase = np.flatnonzero(kinds == "purchase")
    domain_of = np.array([cid.split("-")[0] for cid in cap_ids])
    by_domain = {d: np.flatnonzero(domain_of == d) for d in DOMAINS}
    # Each sector leans on two or three domains; the rest of its capabilities come from anywhere.
    sector_domains = {s: rng.choice(DOMAINS, size=int(rng.integers(2, 4)), replace=False)
                      for s in SECTORS}
    nid = nid or f"synthetic-{members}"
    width = len(str(members))
    ids = [f"m{i:0{width}d}" for i in range(members)]

    # Per-member scalars drawn in bulk (the loop below only picks capabilities).
    sectors = rng.integers(0, len(SECTORS), size=members)
    regions = rng.integers(0, len(REGIONS), size=members)
    sizes = rng.choice(len(SIZES), size=members, p=SIZE_P)
    n_caps_all = rng.integers(3, 9, size=members)
    n_weak_all = rng.integers(0, 4, size=members)
    n_needs_all = rng.integers(1, 8, size=members)
    pools = {s: np.concatenate([by_domain[d] for d in sector_domains[s]]) for s in SECTORS}
    n_all = len(cap_ids)
    cap_list = cap_ids.tolist()
    kind_list = kinds.tolist()

    docs_members = []
    for i, mid in enumerate(ids):
        sector = SECTORS[sectors[i]]
        pool = pools[sector]
        n_caps = int(n_caps_all[i])
        n_home = min(len(pool), round(n_caps * 0.7))
        have = rng.choice(pool, size=n_home, replace=False).tolist()
        for j in rng.integers(0, n_all, size=3 * n_caps).tolist():
            if len(have) == n_caps:
                break
            if j not in have:
                have.append(j)
        levels = rng.integers(1, 6, size=len(have)).tolist()
        strong = {j for j, lv in zip(have, levels) if lv >= 3}
        held = set(have)

        weaknesses = []
        n_weak = int(n_weak_all[i])
        severities = rng.integers(1, 6, size=n_weak).tolist()
        for j in rng.choice(n_all, size=n_weak + 8, replace=False).tolist():
            if len(weaknesses) == n_weak:
                break
            if j not in strong:  # a weakness may sit on a capability held at level 1-2
                weaknesses.append({"id": cap_list[j], "severity": severities[len(weaknesses)]})

        needs = []
        n_needs = int(n_needs_all[i])
        candidates = np.concatenate([rng.choice(purchase, size=3, replace=False),
                                     rng.choice(n_all, size=9, replace=False)])
        urgencies = rng.integers(1, 6, size=len(candidates)).tolist()
        draws = rng.random(len(candidates)).tolist()
        volumes = np.round(rng.lognormal(9.0, 1.2, size=len(candidates)), -1).tolist()
        seen: set[int] = set()
        for k, j in enumerate(rng.permutation(candidates).tolist()):
            if len(needs) == n_needs:
                break
            if j in seen or j in held:
                continue
            seen.add(j)
            kind = kind_list[j]
            need: dict[str, Any] = {"id": cap_list[j], "urgency": urgencies[k]}
            if kind == "purchase":
                need["kind"] = "purchase"
                need["volume"] = volumes[k]
            elif kind in ("knowhow", "certification"):
                need["kind"] = "knowhow"
            else:
                need["kind"] = "service" if draws[k] < 0.75 else "partner"
            needs.append(need)

        docs_members.append({
            "id": mid,
            "name": f"{sector.capitalize()} firm {i}",
            "sector": sector,
            "region": REGIONS[regions[i]],
            "size": SIZES[sizes[i]],
            "description": _description(rng, sector, [labels[cap_list[j]] for j in have[:3]]),
            "capabilities": [{"id": cap_list[j], "level": lv} for j, lv in zip(have, levels)],
            "weaknesses": weaknesses,
            "needs": needs,
        })

    return {
        "network": {"id": nid, "name": f"Synthetic network of {members} firms",
                    "sector": "cross-sector", "region": "synthetic",
                    "description": f"Generated by benchmarks/synthetic.py (seed {seed})."},
        "capabilities": caps,
        "members": docs_members,
        "ties": ties(rng, ids),
    }


def ties(rng: np.random.Generator, ids: list[str]) -> list[dict[str, Any]]:
    """About ``TIES_PER_MEMBER`` ties per member: no self ties, no duplicate (source, target, type)."""
    n = len(ids)
    if n < 2:
        return []
    wanted = round(TIES_PER_MEMBER * n)
    draw = int(wanted * 1.2) + 10
    source = rng.integers(0, n, size=draw)
    local = rng.random(draw) < LOCAL_TIES
    offset = rng.integers(1, min(50, n - 1) + 1, size=draw) * rng.choice([-1, 1], size=draw)
    target = np.where(local, (source + offset) % n, rng.integers(0, n, size=draw))
    types = rng.choice(len(TIE_TYPES), size=draw, p=TIE_P)
    weights = np.round(rng.uniform(0.2, 1.0, size=draw), 2)
    start = dt.date(2000, 1, 1).toordinal()
    days = rng.integers(0, 365 * 25, size=draw)
    out, seen = [], set()
    for s, t, k, w, d in zip(source.tolist(), target.tolist(), types.tolist(), weights.tolist(),
                             days.tolist()):
        if s == t or (s, t, k) in seen:
            continue
        seen.add((s, t, k))
        out.append({"source": ids[s], "target": ids[t], "type": TIE_TYPES[k], "weight": w,
                    "since": dt.date.fromordinal(start + d).isoformat()})
        if len(out) == wanted:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--id", help="network id (default synthetic-<members>)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.add_argument("--validate", action="store_true",
                        help="check the document with graph.validation first")
    args = parser.parse_args(argv)
    document = generate(args.members, args.seed, args.id)
    if args.validate:
        from graph.validation import validate_network

        validate_network(document, known_broader={})
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{args.output}: {len(document['members'])} members, "
              f"{len(document['capabilities'])} capabilities, {len(document['ties'])} ties, "
              f"{len(text) / 1e6:.1f} MB", file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
