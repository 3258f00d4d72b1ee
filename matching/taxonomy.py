"""How well offering one capability covers a need for another, from the taxonomy's shape."""

from __future__ import annotations

import functools
import unicodedata

import networkx as nx
import numpy as np
import scipy.sparse as sp


@functools.lru_cache(maxsize=1 << 16)  # labels repeat across calls (every synonym_groups)
def normalise_label(text: str) -> str:
    """Lower case without accents, so "Gestión de nóminas" equals "gestion de nominas"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def synonym_groups(taxonomy: nx.DiGraph) -> dict[str, set[str]]:
    """Capability ids that share a normalised label or synonym count as the same capability."""
    by_name: dict[str, set[str]] = {}
    for cid, data in taxonomy.nodes(data=True):
        for name in [data.get("label") or cid, *(data.get("synonyms") or [])]:
            by_name.setdefault(normalise_label(name), set()).add(cid)
    groups: dict[str, set[str]] = {cid: {cid} for cid in taxonomy}
    for ids in by_name.values():
        for cid in ids:
            groups[cid] |= ids
    return groups


def coverage_matrix(
    taxonomy: nx.DiGraph,
    capability_ids: list[str],
    *,
    narrower: float = 0.8,
    broader: float = 0.5,
    serves: float = 0.8,
    decay: float = 0.6,
    max_distance: int = 3,
    rows: list[str] | None = None,
) -> sp.csr_array:
    r"""Matrix :math:`S` with :math:`S_{dc}` = how much offering capability c covers a need for d.

    .. math::

        S_{dc} = \begin{cases}
            1 & c = d \text{ or } c, d \text{ share a label or synonym} \\
            \text{narrower} \cdot \text{decay}^{k-1} & c \text{ is } k \text{ levels below } d \\
            \text{broader} \cdot \text{decay}^{k-1} & c \text{ is } k \text{ levels above } d \\
            \text{serves} & c \text{ serves } d \text{ (the taxonomy says so)} \\
            0 & \text{otherwise}
        \end{cases}

    The taxonomy has an edge child -> parent for each BROADER link. A lab offering "genetic
    testing" (broader) partly covers a need for "preimplantation genetic testing"; one offering
    PGT (narrower) covers a need for genetic testing better, being a specific kind of it.
    Siblings (the same parent) are not substitutes and cover nothing: welding does not serve a
    need for CNC machining. What can serve what across branches is said explicitly by the node
    attribute ``serves`` (a list of capability ids): an ISO 9001 certification serves a need
    for quality consulting, a know-how the service it enables.

    ``rows``: only these needs d get their row (the others stay empty), for a caller that reads
    a few rows of a large taxonomy.
    """
    index = {cid: j for j, cid in enumerate(capability_ids)}
    up = taxonomy
    down = taxonomy.reverse(copy=False)
    groups = synonym_groups(taxonomy)
    entries: dict[tuple[int, int], float] = {}

    def put(d: str, c: str, value: float) -> None:
        key = (index[d], index[c])
        if value > entries.get(key, 0.0):
            entries[key] = value

    for d in capability_ids if rows is None else rows:
        for c in groups.get(d, {d}):
            put(d, c, 1.0)
        for c, k in nx.single_source_shortest_path_length(down, d, cutoff=max_distance).items():
            if k:
                put(d, c, narrower * decay ** (k - 1))
        for c, k in nx.single_source_shortest_path_length(up, d, cutoff=max_distance).items():
            if k:
                put(d, c, broader * decay ** (k - 1))
    wanted = None if rows is None else set(rows)
    for c in capability_ids:
        served = taxonomy.nodes[c].get("serves") if c in taxonomy else None
        for d in served or ():
            if d in index and (wanted is None or d in wanted):
                put(d, c, serves)
    if not entries:
        return sp.csr_array((len(capability_ids), len(capability_ids)), dtype=np.float32)
    at_d, at_c = zip(*entries)
    return sp.csr_array((np.fromiter(entries.values(), np.float32), (at_d, at_c)),
                        shape=(len(capability_ids), len(capability_ids)))
