"""Per-member containers shared with frozen copies of a live matcher.

A frozen copy (``PartnerMatcher.frozen``, read by the network-wide analyses while writes go on)
copies only the outer containers of what updates change: the dicts of rows by member, the tie
graph's dicts of nodes and neighbours. The inner containers (one member's row of decisions,
trusted ties, positive ties, its tie-graph neighbours) are shared, so an update never changes
one in place: it gives the live side a copy of each row it is about to write (``own``,
``without``, ``own_adjacency``). Taking a copy then costs a few dict copies, whatever the
number of ties, and an update the rows it touches. A copy may be kept for readers to come
until its source next changes (``keep``, ``Kept``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable, Iterable, MutableMapping
from typing import Any

import networkx as nx


def own(rows: MutableMapping[Hashable, Any], keys: Iterable[Hashable]) -> None:
    """Replace each existing ``rows[key]`` (a dict or set) by a copy of it, before the caller
    writes into it: a frozen copy may hold the old one."""
    for key in keys:
        row = rows.get(key)
        if row is not None:
            rows[key] = type(row)(row)


def without(rows: MutableMapping[Hashable, Any], key: Hashable, item: Hashable) -> None:
    """``rows[key]`` (a dict or set) without ``item``, as a new row (never changed in place)."""
    row = rows.get(key)
    if row is None or item not in row:
        return
    if isinstance(row, dict):
        rows[key] = {k: v for k, v in row.items() if k != item}
    else:
        rows[key] = row - {item}


def shared_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``graph`` whose dicts of nodes, successors and predecessors are its own and
    whose inner dicts (node attributes, each node's neighbours, the keyed edges between two
    nodes) are ``graph``'s: updates of ``graph`` replace those (``own_adjacency``, node
    attributes set anew) instead of changing them, so the copy keeps the graph as it was."""
    copy = type(graph)()
    copy.graph.update(graph.graph)
    copy._node.update(graph._node)
    copy._succ.update(graph._succ)
    copy._pred.update(graph._pred)
    return copy


def own_adjacency(graph: nx.MultiDiGraph, nodes: Iterable[Hashable]) -> None:
    """Give ``nodes`` and their neighbours dicts of neighbours of ``graph``'s own, and the
    edges touching ``nodes`` keyed dicts of its own, before edges touching them are removed or
    added or one of them is removed (``nodes``: every end of an edge to be added too): a
    ``shared_graph`` copy may hold the old ones."""
    succ, pred = graph._succ, graph._pred
    nodes = [n for n in dict.fromkeys(nodes) if n in succ]
    around = set(nodes)
    for n in nodes:
        around.update(succ[n])
        around.update(pred[n])
    for u in around:
        succ[u] = dict(succ[u])
        pred[u] = dict(pred[u])
    for n in nodes:
        for v, keyed in list(succ[n].items()):
            keyed = dict(keyed)
            succ[n][v] = pred[v][n] = keyed
        for u, keyed in list(pred[n].items()):
            keyed = dict(keyed)
            pred[n][u] = succ[u][n] = keyed


class Kept:
    """A frozen copy held for its readers until the matcher it copies changes or is dropped
    (``keep``): a copy alive makes the source's next updates copy the arrays they write, so a
    copy kept for readers that may come (an analysis asked late) is let go first."""

    __slots__ = ("copy", "__weakref__")

    def __init__(self, copy: Any):
        self.copy = copy  # None once let go


_KEPT: weakref.WeakKeyDictionary[Any, list[weakref.ref[Kept]]] = weakref.WeakKeyDictionary()
_KEPT_GUARD = threading.Lock()


def keep(source: Any, copy: Any) -> Kept:
    """``copy`` of ``source``, held until ``release(source)`` or until ``source`` is dropped."""
    handle = Kept(copy)
    with _KEPT_GUARD:
        handles = _KEPT.get(source)
        if handles is None:
            handles = _KEPT[source] = []
            weakref.finalize(source, _released, handles)  # (a replaced matcher's copy too)
        handles.append(weakref.ref(handle))
    return handle


def release(source: Any) -> None:
    """Let go of every copy of ``source`` kept (``keep``): called before ``source`` changes."""
    with _KEPT_GUARD:
        handles = _KEPT.get(source)
        if handles:
            _released(handles)


def _released(handles: list[weakref.ref[Kept]]) -> None:
    for ref in handles:
        handle = ref()
        if handle is not None:
            handle.copy = None
    handles.clear()
