"""The member list of a large network, found in memory: filtered, searched, ordered and counted
on a live matcher's projection, so that a page of the list reads only its own rows from the
database (``graph.members.members_page``).

The projection is caught up with the database before a request reads it (``api.engine``), so the
list is the stored one. Everything here is public: names, descriptions, sectors, regions, the
capabilities members offer and the needs they declare, the taxonomy's labels. Weaknesses are never
looked at: they are confidential.
"""

from __future__ import annotations

import threading
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from matching.projection import NetworkProjection


def folded(text: str) -> str:
    """``text`` for comparison: compatibility-decomposed, accents dropped, case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def label_text(entry: Mapping[str, Any]) -> str:
    """What a search matches in a capability: its English and Spanish labels, folded."""
    return folded(" | ".join(filter(None, (entry.get("label"), entry.get("label_es")))))


def text_matches(wanted: str, name: str | None, description: str | None,
                 capabilities: Iterable[str], labels: Mapping[str, str]) -> bool:
    """Whether the folded ``wanted`` is in the member's name, its description, or the folded
    label of one of its ``capabilities`` (offered or needed ids). The one rule of every search
    of the member list, in memory or over rows read from the database."""
    return (wanted in folded(name or "") or wanted in folded(description or "")
            or any(wanted in labels.get(cid, "") for cid in capabilities))


@dataclass(frozen=True)
class _Directory:
    """One projection's members in id order, with what filters and searches read."""

    ids: list[str]
    names: list[str]  # folded
    descriptions: list[str]  # folded
    sectors: list[str | None]
    regions: list[str | None]
    offered: list[frozenset[str]]  # capability ids held
    held: list[frozenset[str]]  # capability ids held or needed (what a label search reads)
    labels: dict[str, str]  # capability id -> its folded labels


def _build(p: NetworkProjection) -> _Directory:
    ids = sorted(p.member_index)
    levels = p.levels.tocsr() if hasattr(p.levels, "tocsr") else p.levels
    rows = [p.member_index[mid] for mid in ids]
    attrs = [p.ties.nodes[mid] for mid in ids]
    offered = [frozenset(p.capability_ids[j]
                         for j in levels.indices[levels.indptr[i]:levels.indptr[i + 1]])
               for i in rows]
    held = [o | {n["id"] for n in p.needs[i]} for o, i in zip(offered, rows)]
    return _Directory(
        ids=ids, names=[folded(a.get("name") or "") for a in attrs],
        descriptions=[folded(a.get("description") or "") for a in attrs],
        sectors=[a.get("sector") for a in attrs], regions=[a.get("region") for a in attrs],
        offered=offered, held=held,
        labels={cid: label_text(p.taxonomy.nodes[cid]) for cid in p.capability_ids})


_lock = threading.Lock()
# One directory per network, kept while its projection's member arrays and taxonomy live: a
# changed member gives the matcher new arrays (matching.projection.with_members), so the next
# request builds the directory again.
_built: dict[str, tuple[Any, Any, _Directory]] = {}


def _directory(p: NetworkProjection) -> _Directory:
    nid = p.network.get("id", "")
    with _lock:
        levels, taxonomy, found = _built.get(nid, (None, None, None))
        if found is not None and levels() is p.levels and taxonomy() is p.taxonomy:
            return found
    found = _build(p)
    with _lock:
        _built[nid] = (weakref.ref(p.levels), weakref.ref(p.taxonomy), found)
    return found


def find_members(p: NetworkProjection, *, sector: str | None = None, region: str | None = None,
                 capability: str | None = None, text: str | None = None) -> list[str]:
    """Ids of the members matching every given filter, in id order; ``capability`` includes
    narrower ones, ``text`` is searched as ``text_matches`` says (folded, both languages).

    The caller holds the matcher's read lock: the projection does not change meanwhile.
    """
    d = _directory(p)
    wanted_caps = None
    if capability is not None:
        wanted_caps = ({capability} | nx.ancestors(p.taxonomy, capability)
                       if capability in p.taxonomy else {capability})
    wanted = folded(text) if text else None
    labelled = {cid for cid, label in d.labels.items() if wanted in label} if wanted else set()
    found = []
    for i, mid in enumerate(d.ids):
        if sector is not None and d.sectors[i] != sector:
            continue
        if region is not None and d.regions[i] != region:
            continue
        if wanted_caps is not None and not (d.offered[i] & wanted_caps):
            continue
        if wanted is not None and not (wanted in d.names[i] or wanted in d.descriptions[i]
                                       or d.held[i] & labelled):
            continue
        found.append(mid)
    return found


def public_names(p: NetworkProjection) -> dict[str, str]:
    """Every member's name (its id when it has none), by id."""
    return {mid: p.ties.nodes[mid].get("name") or mid for mid in p.member_index}
