"""Pair features of one network, computed for a block of query members against everyone.

Everything is vectorised: a block of ``r`` query members gives ``r x n`` arrays, so one member's
suggestions cost a few sparse matrix-vector products, and a whole network is done in blocks.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from matching.member_rows import (CORE_LEVEL, FEW_ROWS, ROW_ARRAYS, TEXT_ARRAYS, TaxonomyParts,
                                  few_member_rows, member_rows, member_texts, rows_of)
from matching.projection import NetworkProjection
from matching.rivalry import NOT_RIVALS, RIVAL_TIE, RIVALS, competing, same_value
from matching.rows import (LARGE, Room, Rows, gathered, gathered_at, grown, replace_columns,
                           replace_columns_in_place, replace_rows, replace_rows_in_place, row_at,
                           same_entries, set_columns, set_rows, transposed)
from matching.sharing import own, without

POSITIVE_TIES = ("COLLABORATES_WITH", "TRUSTS", "SUPPLIES")
DEFAULT_TIE_WEIGHT = 0.5
FEATURES = ("benefit_to_member", "benefit_to_partner", "non_core_benefit", "text", "tie", "common",
            "adamic_adar", "rival", "not_rival", "core_overlap", "same_sector", "same_region",
            "shared_customers", "preferential")
#: What ``NetworkFeatures.competitor`` reads: ask ``block`` for these to tell rivals apart.
RIVALRY_FEATURES = ("rival", "not_rival", "core_overlap", "same_sector", "same_region",
                    "shared_customers")
__all__ = ["CORE_LEVEL", "FEATURES", "RIVALRY_FEATURES", "NetworkFeatures", "View"]
RESIDUE = 1e-6  # what is left of a benefit after subtracting a part of it equal to the whole


class View(StrEnum):
    """Whose confidential data a score may read.

    A member's weaknesses are confidential to the member, its facilitators and admins, so the
    demand of a member (what it wants covered) has two forms: the full one (needs and weaknesses)
    and the public one (needs only). A view says which form each side of a pair uses.
    """

    FACILITATOR = "facilitator"  # everyone's needs and weaknesses (facilitators, admins)
    MEMBER = "member"  # the query member's own needs and weaknesses; candidates' needs only
    PUBLIC = "public"  # needs only, on both sides (analysts, anything network-wide)


def _same_rows(matrix: sp.csr_array, rows: np.ndarray, new: sp.csr_array) -> bool:
    """Whether ``matrix``'s rows ``rows`` already hold exactly the rows of ``new`` (both with
    sorted indices, as ``replace_rows`` and fits leave them), read from the CSR arrays: indexing
    the scipy array would copy it row by row."""
    for k, r in enumerate(np.asarray(rows).tolist()):
        lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
        new_lo, new_hi = new.indptr[k], new.indptr[k + 1]
        if hi - lo != new_hi - new_lo or \
                not same_entries(matrix.indices[lo:hi], new.indices[new_lo:new_hi]) or \
                not same_entries(matrix.data[lo:hi], new.data[new_lo:new_hi]):
            return False
    return True


def _same_columns(matrix: sp.csr_array, rows: np.ndarray, new: sp.csr_array) -> bool:
    """Whether ``matrix``'s rows ``rows`` have the columns of the rows of ``new``."""
    for k, r in enumerate(np.asarray(rows).tolist()):
        if not same_entries(matrix.indices[matrix.indptr[r]:matrix.indptr[r + 1]],
                              new.indices[new.indptr[k]:new.indptr[k + 1]]):
            return False
    return True


class _Codes:
    """Integer codes per distinct value; -1 for a missing one (never equal to anything)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, value: str | None) -> int:
        return self.seen.setdefault(value, len(self.seen)) if value else -1


@dataclass
class NetworkFeatures:
    """The matrices every scorer needs, computed once per projection, updated per member.

    ``demand[a, d]`` is how much member a wants capability d: urgency/5 for a need and
    ``weakness_weight`` * severity/5 for a weakness (the larger of the two). ``coverage[d, b]`` is
    how well member b covers d: :math:`\\min(1, \\sum_c S_{dc} \\, level_{bc} / 5)` with S the
    taxonomy coverage matrix.

    The public forms (``public_demand``, ``public_zoned_demand``, ``public_want_words``) read
    needs only, normalised by the needs' own totals: nothing computed from them depends on
    anyone's weaknesses.

    Member rows are row-local (``matching.member_rows``) and ties are kept as adjacency, so
    ``update_members`` and ``update_ties`` give exactly the arrays a new fit would.
    """

    projection: NetworkProjection
    weakness_weight: float = 0.8

    def __post_init__(self) -> None:
        p = self.projection
        self.taxonomy_ = TaxonomyParts.of(p.taxonomy, p.capability_ids)
        self.coverage_of = self.taxonomy_.coverage_of
        self.covers = rows_of(self.coverage_of)
        every = np.arange(p.n_members)
        arrays, self.texts = self._rows_of_members(every)
        for name, matrix in arrays.items():
            setattr(self, name, matrix)
        del arrays  # (each large one is moved into buffers with room below: ``_make_room``)
        self.levels_of = rows_of(p.levels)
        self.urgency_of = rows_of(p.urgencies)
        self.severity_of = rows_of(p.severities)
        self.zone_of = [set(r) for r in rows_of(self.zone)]
        self.core_of = [set(r) for r in rows_of(self.core)]
        self._sectors, self._regions = _Codes(), _Codes()
        self.sector = np.array([self._sectors(p.ties.nodes[mid].get("sector"))
                                for mid in p.member_ids], np.int64)
        self.region = np.array([self._regions(p.ties.nodes[mid].get("region"))
                                for mid in p.member_ids], np.int64)
        self._segments = _Codes()  # customer segments (only updates add codes: never frozen)
        self.customers = self._customer_rows(np.arange(p.n_members)).csr()
        self.customers_t = transposed(self.customers)
        self._derive()
        self._make_room()
        self._positive: dict[int, dict[int, float]] = {}
        self._competing: dict[int, set[int]] = {}
        for i in range(p.n_members):
            self._read_ties(i)
        self._read_verdicts()
        self._tie_matrices()

    def _rows_of_members(self, rows: np.ndarray
                         ) -> tuple[dict[str, sp.csr_array], dict[str, list[str]]]:
        """The ``ROW_ARRAYS`` rows of ``rows`` from the projection, and their texts."""
        p = self.projection
        descriptions = [(p.ties.nodes[p.member_ids[i]].get("description") or "")
                        if p.member_ids[i] in p.ties else "" for i in rows]
        if "texts" in self.__dict__ and len(rows) <= FEW_ROWS:  # a live edit
            return few_member_rows(self.taxonomy_, p.levels, p.urgencies, p.severities,
                                   p.core_flags, np.asarray(rows).tolist(), descriptions,
                                   self.weakness_weight, self._known_texts(rows))
        texts = member_texts(self.taxonomy_, p.urgencies[rows], p.severities[rows],
                             descriptions)
        return member_rows(self.taxonomy_, p.levels[rows], p.urgencies[rows],
                           p.severities[rows], p.core_flags[rows], descriptions,
                           self.weakness_weight, self._hashed_texts(rows), texts), texts

    def _update_customers(self, rows: np.ndarray, n: int) -> None:
        """Splice the customer segments of ``rows`` in; the transposed form is rebuilt only
        when a segment changed (a small array: members x segments, most rows empty)."""
        fresh = self._customer_rows(rows)
        current = self.customers
        if current.shape == (n, fresh.shape[1]) and _same_rows(current, rows, fresh):
            return
        # New segments widen the indicator: a CSR array grows in columns by its shape alone.
        current = sp.csr_array((current.data, current.indices, current.indptr),
                               shape=(current.shape[0], fresh.shape[1]))
        self.customers = replace_rows(current, rows, fresh)
        self.customers_t = transposed(self.customers)

    def _customer_rows(self, rows: np.ndarray) -> Rows:
        """Rows ``rows`` of the member x customer segment indicator (segments coded as met),
        as wide as every segment coded so far."""
        p = self.projection
        indptr, codes = [0], []
        for i in np.asarray(rows).tolist():
            mid = p.member_ids[i]
            attrs = p.ties.nodes[mid] if mid in p.ties and p.member_index.get(mid) == i else {}
            codes += sorted({self._segments(s) for s in attrs.get("customers") or ()})
            indptr.append(len(codes))
        width = max(len(self._segments.seen), 1)
        return Rows(np.ones(len(codes), np.float32), np.asarray(codes, np.int64),
                    np.asarray(indptr, np.int64), (len(indptr) - 1, width))

    def _known_texts(self, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``_hashed_texts`` as (columns, values) pairs, for ``few_member_rows``. Copies, not
        views: a text may come back in another array (a need moved from the weaknesses gives
        the public wants the full wants' old text), and the edit splices the arrays in place
        one after the other, so a view could be overwritten before its row is spliced in."""
        out = {}
        for name in TEXT_ARRAYS:
            matrix, texts = getattr(self, name), self.texts[name]
            for i in np.asarray(rows).tolist():
                if i < len(texts):
                    lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
                    out[texts[i]] = (matrix.indices[lo:hi].copy(), matrix.data[lo:hi].copy())
        return out

    def _hashed_texts(self, rows: np.ndarray) -> dict[str, sp.csr_array]:
        """The rows ``rows`` hold now for their texts, by text: an edit that leaves a text as
        it was (a level, an urgency) reuses its row instead of hashing it again."""
        texts = self.__dict__.get("texts")
        if texts is None:  # the first fit
            return {}
        out = {}
        for name in TEXT_ARRAYS:
            matrix = getattr(self, name)
            for i in np.asarray(rows).tolist():
                if i < len(texts[name]):
                    lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
                    out[texts[name][i]] = sp.csr_array(
                        (matrix.data[lo:hi], matrix.indices[lo:hi], [0, hi - lo]),
                        shape=(1, matrix.shape[1]))
        return out

    # The transposed forms (capability x member), kept beside the row forms: a request's few
    # members are scored by summing the rows of the transposed forms their entries name
    # (``gathered``: the entries read, not the whole network), and an update patches them in
    # place of the changed members' columns (``replace_columns``), never transposing again.
    _TRANSPOSED = {"coverage": "coverage_t", "demand_t": "demand",
                   "public_demand_t": "public_demand", "core_t": "core",
                   "label_text": "label_text_t", "description_t": "description",
                   "zoned_coverage": "zoned_coverage_t"}

    def _derive(self, changed: set[str] | None = None, rows: np.ndarray | None = None,
                before: dict[str, sp.csr_array] | None = None,
                fresh: dict[str, sp.csr_array] | None = None,
                patched: set[str] = frozenset()) -> None:
        """Bring the transposed forms in line with the row arrays: all of them built anew
        (``changed`` None), or those of the ``changed`` arrays patched at ``rows``, which held
        the rows of ``before`` and now hold those of ``fresh`` (the ``patched`` ones in place:
        their columns are as they were)."""
        cache = self.__dict__.setdefault("_transposed", {})
        for target, source in self._TRANSPOSED.items():
            if changed is None:
                cache[target] = transposed(getattr(self, source))
                continue
            if source not in changed or target not in cache:
                continue  # unchanged, or built from the row form when first read
            if source in patched:
                cache[target] = self._writable(target, cache[target])
                set_columns(cache[target], rows, getattr(self, source), fresh[source])
                continue
            n = self.projection.n_members
            matrix, room = self._room(target, cache[target]) if n == cache[target].shape[1] \
                else (cache[target], None)  # new members: built anew, never spliced
            spliced = None if room is None else replace_columns_in_place(
                matrix, room, rows, before[source], fresh[source], n)
            if spliced is None:
                spliced = self._roomy(target, replace_columns(cache[target], rows,
                                                              before[source], fresh[source], n))
            cache[target] = spliced

    def _make_room(self) -> None:
        """Move the large arrays into buffers with room at fit time (a background fit's last
        second at 100,000 members): the first edit that changes a row's columns then splices
        them in place like every later one, instead of copying each into its buffers while the
        edit's caller waits (about a second at 100,000 members)."""
        for name in ROW_ARRAYS:
            matrix = getattr(self, name)
            matrix.sort_indices()  # (the buffers' arrays are taken as sorted; they are)
            setattr(self, name, self._roomy(name, matrix))
        cache = self.__dict__["_transposed"]
        for target in self._TRANSPOSED:
            cache[target].sort_indices()
            cache[target] = self._roomy(target, cache[target])

    def _room(self, name: str, matrix: sp.csr_array) -> tuple[sp.csr_array, Room | None]:
        """``matrix`` (array ``name``) and the room to splice it in, if it has one. When a
        ``frozen`` copy shares it, it is copied into room of its own first: one copy, where
        building the spliced array anew and moving it into room would cost two."""
        rooms = self.__dict__.setdefault("_rooms", {})
        if name in self._lent:
            self._lent.discard(name)
            if rooms.pop(name, None) is None:
                return matrix, None
            matrix, rooms[name] = Room.around(matrix)
        return matrix, rooms.get(name)

    def _roomy(self, name: str, matrix: sp.csr_array) -> sp.csr_array:
        """``matrix`` (array ``name``, just built), moved into buffers with room if large, so
        the next edits splice it in place (``matching.rows.Room``)."""
        if matrix.nnz < LARGE:
            self.__dict__.setdefault("_rooms", {}).pop(name, None)
            return matrix
        matrix, self.__dict__.setdefault("_rooms", {})[name] = Room.around(matrix)
        return matrix

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for name in ("_rooms", "_lent_names", "_sharers"):  # a pickled copy shares nothing,
            state.pop(name, None)  # and its arrays hold their entries without room
        return state

    @property
    def _lent(self) -> set[str]:
        """Names of the arrays a ``frozen`` copy still alive shares: copied once before written
        in place. Once every copy is gone, nothing is lent: the arrays and their rooms are
        this one's alone again, and edits splice them in place."""
        lent = self.__dict__.setdefault("_lent_names", set())
        sharers = self.__dict__.setdefault("_sharers", [])
        sharers[:] = [ref for ref in sharers if ref() is not None]
        if not sharers:
            lent.clear()
        return lent

    def _writable(self, name: str, matrix: sp.csr_array | None = None) -> sp.csr_array:
        """Array ``name`` (a row array, or ``matrix``, a transposed form) safe to write values
        into: its values are copied first if a ``frozen`` copy still shares them."""
        if matrix is None:
            matrix = getattr(self, name)
        if name in self._lent:
            self._lent.discard(name)
            rooms = self.__dict__.setdefault("_rooms", {})
            if rooms.pop(name, None) is not None:  # its buffers are the copy's: new ones
                matrix, rooms[name] = Room.around(matrix)
            else:
                matrix = sp.csr_array((matrix.data.copy(), matrix.indices, matrix.indptr),
                                      shape=matrix.shape)
                matrix.has_sorted_indices = True
            if name in ROW_ARRAYS:
                setattr(self, name, matrix)
        return matrix

    def __getattr__(self, name: str) -> sp.csr_array:
        source = type(self)._TRANSPOSED.get(name)
        if source is None:
            raise AttributeError(name)
        cache = self.__dict__.setdefault("_transposed", {})
        if name not in cache:  # two readers may both build it: the same array either way
            cache[name] = transposed(getattr(self, source))
        return cache[name]

    def frozen(self, projection: NetworkProjection | None = None) -> NetworkFeatures:
        """A copy for computing blocks while this one goes on being updated: updates replace
        the arrays (``replace_rows``, ``_tie_matrices``) or, where only values change, write
        into them after copying what the copy shares (``_writable``, once per array, while the
        copy lives); the sector and region codes and the caches the copy gets of its own.

        With ``projection`` (a ``frozen_projection`` of this one's) the copy reads it, and gets
        its own outer containers of what updates change (the per-member lists, the dicts of tie
        rows, whose rows updates replace instead of writing into): a copy for any reading, not
        only blocks (network-wide analyses)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_transposed"] = dict(self.__dict__.get("_transposed", {}))
        copy.sector, copy.region = self.sector.copy(), self.region.copy()
        shared = {*ROW_ARRAYS, *self._TRANSPOSED, "texts"}
        self.__dict__["_lent_names"] = set(shared)
        self.__dict__.setdefault("_sharers", []).append(weakref.ref(copy))  # (pruned by _lent)
        # The copy never splices: its rooms are this one's, spliced again once it is gone.
        copy.__dict__.update(_lent_names=set(shared), _sharers=[weakref.ref(self)], _rooms={})
        if projection is not None:
            copy.projection = projection
            for name in ("levels_of", "urgency_of", "severity_of", "zone_of", "core_of"):
                setattr(copy, name, list(getattr(self, name)))
            # Rows by member, shared: ``update_ties`` replaces the rows it changes.
            copy._positive, copy._competing = dict(self._positive), dict(self._competing)
        return copy

    # -- live updates ---------------------------------------------------------------------------
    def update_members(self, projection: NetworkProjection, rows: list[int]) -> None:
        """Recompute the rows of ``rows`` (new members are rows past the end) from ``projection``,
        which already holds their new data; a removed member's row is all zero."""
        self.projection = projection
        p = projection
        n = p.n_members
        rows_array = np.asarray(sorted(rows), dtype=np.int64)
        fresh, texts = self._rows_of_members(rows_array)
        if "texts" in self._lent:  # a frozen copy keeps its own
            self._lent.discard("texts")
            self.texts = {name: list(self.texts[name]) for name in TEXT_ARRAYS}
        for name in TEXT_ARRAYS:
            self.texts[name].extend([""] * (n - len(self.texts[name])))
        for k, i in enumerate(rows_array.tolist()):
            for name in TEXT_ARRAYS:
                self.texts[name][i] = texts[name][k]
        changed, before, patched = set(), {}, set()
        for name in ROW_ARRAYS:
            current = getattr(self, name)
            if n == current.shape[0] and _same_rows(current, rows_array, fresh[name]):
                continue  # e.g. a level changed but not the description: keep its arrays
            changed.add(name)
            if n == current.shape[0] and _same_columns(current, rows_array, fresh[name]):
                # Only values changed: written in place, no copy of the whole array.
                set_rows(self._writable(name), rows_array, fresh[name])
                patched.add(name)
                continue
            before[name] = current  # replaced below: the transposed forms read them first
        levels_of, urgency_of, severity_of = (rows_of(p.levels, rows_array),
                                              rows_of(p.urgencies, rows_array),
                                              rows_of(p.severities, rows_array))
        zone_of = rows_of(fresh["zone"])
        core_of = rows_of(fresh["core"])
        self.sector = np.concatenate([self.sector, np.full(n - len(self.sector), -1)])
        self.region = np.concatenate([self.region, np.full(n - len(self.region), -1)])
        for lst in (self.levels_of, self.urgency_of, self.severity_of):
            lst.extend({} for _ in range(n - len(lst)))
        for lst in (self.zone_of, self.core_of):
            lst.extend(set() for _ in range(n - len(lst)))
        for k, i in enumerate(rows_array.tolist()):
            self.levels_of[i], self.urgency_of[i] = levels_of[k], urgency_of[k]
            self.severity_of[i] = severity_of[k]
            self.zone_of[i], self.core_of[i] = set(zone_of[k]), set(core_of[k])
            attrs = p.ties.nodes[p.member_ids[i]] if p.member_ids[i] in p.ties else {}
            self.sector[i] = self._sectors(attrs.get("sector"))
            self.region[i] = self._regions(attrs.get("region"))
        self._update_customers(rows_array, n)
        self._derive(changed, rows_array, before, fresh, patched)
        for name, current in before.items():
            current, room = self._room(name, current) if n == current.shape[0] \
                else (current, None)  # new members: built anew, never spliced
            spliced = None if room is None else replace_rows_in_place(current, room, rows_array,
                                                                      fresh[name])
            if spliced is None:
                spliced = self._roomy(name, replace_rows(current, rows_array, fresh[name]))
            setattr(self, name, spliced)
        self._read_verdicts()  # a removed member's verdicts went with it
        if self.tie_strength.shape[0] != n:  # new members: the tie arrays grow with them
            self._tie_matrices()

    def update_ties(self, projection: NetworkProjection, rows: list[int]) -> None:
        """Re-read every tie touching ``rows`` from ``projection`` (after ``update_members`` for
        new members)."""
        self.projection = projection
        touched = set(rows)  # every row whose ties change: these and their partners, old or new
        for i in rows:  # rows are replaced, never changed: a frozen copy may share them
            for j in self._positive.pop(i, {}):
                without(self._positive, j, i)
                touched.add(j)
            for j in self._competing.pop(i, set()):
                without(self._competing, j, i)
                touched.add(j)
        for i in rows:
            partners = self._tie_rows(i)
            own(self._positive, partners)
            own(self._competing, partners)
            touched |= partners
            self._read_ties(i)
        index = projection.member_index  # a removed member takes verdicts with it: all anew
        removed = any(index.get(projection.member_ids[i]) != i for i in rows)
        self._tie_matrices(None if removed else sorted(touched))

    def _tie_rows(self, i: int) -> set[int]:
        """Rows tied to row ``i`` in the projection's tie graph, either way."""
        p = self.projection
        mid = p.member_ids[i]
        if mid not in p.ties or p.member_index.get(mid) != i:
            return set()
        return {p.member_index[other] for other in (*p.ties.succ[mid], *p.ties.pred[mid])}

    def update_verdicts(self, projection: NetworkProjection) -> None:
        """Re-read the facilitators' verdicts on rivalry (a few per network: all of them)."""
        self.projection = projection
        self._read_verdicts()
        self._tie_matrices()

    def _read_verdicts(self) -> None:
        """Confirmed and rejected rivalries as symmetric adjacency of rows."""
        p = self.projection
        self._verdicts: dict[str, dict[int, set[int]]] = {RIVALS: {}, NOT_RIVALS: {}}
        for (a, b), verdict in p.verdicts.items():
            if a in p.member_index and b in p.member_index:
                x, y = p.member_index[a], p.member_index[b]
                adjacency = self._verdicts[verdict["verdict"]]
                adjacency.setdefault(x, set()).add(y)
                adjacency.setdefault(y, set()).add(x)

    def _read_ties(self, i: int) -> None:
        """Member i's ties from the projection, both ways, into the symmetric adjacency."""
        p = self.projection
        mid = p.member_ids[i]
        if mid not in p.ties or p.member_index.get(mid) != i:
            return
        idx = p.member_index
        edges = [(a, b, d) for a, b, d in p.ties.out_edges(mid, data=True)]
        edges += [(a, b, d) for a, b, d in p.ties.in_edges(mid, data=True)]
        for a, b, data in edges:
            x, y = idx[a], idx[b]
            if data["type"] == RIVAL_TIE:
                self._competing.setdefault(x, set()).add(y)
                self._competing.setdefault(y, set()).add(x)
            elif data["type"] in POSITIVE_TIES:
                w = min(float(data.get("weight") or DEFAULT_TIE_WEIGHT), 1.0)
                for u, v in ((x, y), (y, x)):
                    row = self._positive.setdefault(u, {})
                    row[v] = max(row.get(v, 0.0), w)

    def tie_partners(self, i: int) -> list[int]:
        """Rows tied to row ``i`` by a positive tie."""
        return sorted(self._positive.get(i, {}))

    def _tie_matrices(self, rows: list[int] | None = None) -> None:
        """The tie arrays from the adjacency: built anew, or only ``rows`` read again (every
        row whose ties changed, the verdicts unchanged): milliseconds, where building them anew
        reads every tie of the network (seconds at 100,000 members)."""
        n = self.projection.n_members
        confirmed = self._verdicts[RIVALS]

        def matrix(adjacency: dict[int, dict[int, float]], only: list[int] | None = None
                   ) -> sp.csr_array:
            picked = list(adjacency.items()) if only is None else \
                [(k, adjacency.get(i, {})) for k, i in enumerate(only)]
            out = sp.csr_array((np.asarray([w for _, row in picked for w in row.values()],
                                           np.float32),
                                ([i for i, row in picked for _ in row],
                                 [j for _, row in picked for j in row])),
                               shape=(n if only is None else len(only), n))
            out.sort_indices()
            return out

        def rivals(i: int) -> dict[int, float]:
            return dict.fromkeys(self._competing.get(i, set()) | confirmed.get(i, set()), 1.0)

        if rows is not None and self.tie_strength.shape[0] == n:
            rows = sorted(set(rows))
            self.tie_strength = replace_rows(self.tie_strength, rows,
                                             matrix(self._positive, rows))
            self.rivals = replace_rows(self.rivals, rows,
                                       matrix({i: rivals(i) for i in rows}, rows))
        else:
            self.tie_strength = matrix(self._positive)
            self.rivals = matrix({i: rivals(i)
                                  for i in self._competing.keys() | confirmed.keys()})
            self.not_rivals = matrix({i: dict.fromkeys(js, 1.0)
                                      for i, js in self._verdicts[NOT_RIVALS].items()})
        self.linked = sp.csr_array(self.tie_strength > 0, dtype=np.float32)
        degree = np.asarray(self.linked.sum(axis=1)).ravel()
        self.degree = degree
        inv_log = np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2)), 0.0)
        self.linked_aa = sp.csr_array(self.linked @ sp.diags_array(inv_log))

    # -- blocks -------------------------------------------------------------------------------
    def block(self, rows: np.ndarray, names: tuple[str, ...] | None = None,
              view: View | str = View.FACILITATOR, columns: np.ndarray | None = None
              ) -> dict[str, np.ndarray]:
        """Features of every (a, b) with a in ``rows``: each an ``len(rows) x n`` array, or
        ``len(rows) x len(columns)`` with b in ``columns`` only (the same values, bit for bit:
        each is summed in the same order; what the rankers' training reads, a few pairs a row).

        Only ``names`` are computed (default: all of ``FEATURES``). ``view`` says whose demand
        counts (see ``View``): a's own demand is full in the facilitator and member views, b's
        demand is full only in the facilitator view; elsewhere it is needs only. Only the
        benefits and ``text`` read demand.

        - ``benefit_to_member``: :math:`\\sum_d \\hat D_{ad} \\, C_{db}`, the share of a's weighted
          needs and weaknesses that b covers (0-1);
        - ``benefit_to_partner``: the same with a and b swapped;
        - ``non_core_benefit``: the benefit to a from capabilities outside the line of business
          of both a and b (what a rival may offer): ``benefit_to_member`` less
          :math:`\\sum_d \\hat D_{ad} Z_{ad} C_{db} Z_{bd}` with Z the core zones;
        - ``text``: the mean of the label and description similarities of ``_text`` (0-1);
        - ``tie``: strength of a direct positive tie; ``common``: common partners;
          ``adamic_adar``: :math:`\\sum_{z} 1/\\log \\deg z` over common partners;
        - ``rival``: an explicit COMPETES_WITH tie or a facilitator's confirmed rivalry;
          ``not_rival``: a facilitator rejected the rivalry; ``core_overlap``: core offers both
          have (the same capability id: the most specific level each declares);
          ``same_sector``, ``same_region``: both declared and equal; ``shared_customers``: the
          number of customer segments both declare (``customers``);
        - ``preferential``: :math:`\\log(1 + \\deg a \\deg b)`.
        """
        rows = np.asarray(rows)
        wanted = FEATURES if names is None else names
        view = View(view)
        if columns is not None:
            columns = np.asarray(columns)
        return {name: self._compute(name, rows, view, columns) for name in wanted}

    def at(self, a: int, rows: np.ndarray, names: tuple[str, ...], view: View,
           benefit: np.ndarray) -> dict[str, np.ndarray]:
        """The features of the pairs (a, b), b in ``rows``: the values ``block([a])`` holds at
        ``rows``, one 1-D array each, with ``benefit`` (``benefit_to_member`` of ``a`` against
        every member, float32) given. A suggestion needs a fifth of the network or less: what is
        computed element by element is computed there only, the same way."""
        own_full = view is not View.PUBLIC  # the query member's weaknesses count

        def product(source: sp.csr_array, matrix_t: sp.csr_array) -> np.ndarray:
            """``_times_rows(source, [a], ..., matrix_t)`` at ``rows``."""
            lo, hi = source.indptr[a], source.indptr[a + 1]
            return gathered_at(matrix_t, source.indices[lo:hi], source.data[lo:hi],
                               rows).astype(np.float32)

        out = {}
        for name in names:
            match name:
                case "benefit_to_member":
                    value = benefit[rows]
                case "benefit_to_partner":
                    full = view is View.FACILITATOR
                    value = product(self.coverage_t,
                                    self.demand_t if full else self.public_demand_t)
                case "non_core_benefit":
                    value = benefit[rows]
                    value -= product(self.zoned_demand if own_full else
                                     self.public_zoned_demand, self.zoned_coverage)
                    value[value < RESIDUE] = 0
                case "text":
                    value = product(self.demand if own_full else self.public_demand,
                                    self.label_text)
                    value += product(self.want_words if own_full else self.public_want_words,
                                     self.description_t)
                    value *= 0.5
                case "tie" | "rival" | "not_rival":
                    matrix = {"tie": self.tie_strength, "rival": self.rivals,
                              "not_rival": self.not_rivals}[name]
                    value = row_at(matrix, a, rows).astype(np.float32, copy=False)
                case "common":
                    value = product(self.linked, self.linked)
                case "adamic_adar":
                    value = product(self.linked_aa, self.linked)
                case "core_overlap":
                    value = product(self.core, self.core_t)
                case "shared_customers":
                    value = product(self.customers, self.customers_t)
                case "same_sector" | "same_region":
                    codes = self.sector if name == "same_sector" else self.region
                    value = ((codes[rows] == codes[a]) & (codes[a] >= 0)).astype(np.float32)
                case "preferential":
                    value = np.log1p(np.outer(self.degree[[a]], self.degree[rows])
                                     ).astype(np.float32)[0]
                case _:
                    raise KeyError(name)
            out[name] = value
        return out

    def _compute(self, name: str, rows: np.ndarray, view: View,
                 columns: np.ndarray | None = None) -> np.ndarray:
        """One feature's block (``block``), at ``columns`` only when given."""
        cols = slice(None) if columns is None else columns
        own_full = view is not View.PUBLIC  # the query member's weaknesses count
        match name:
            case "benefit_to_member":
                demand = self.demand if own_full else self.public_demand
                return _times_rows(demand, rows, self.coverage_t, self.coverage, columns)
            case "benefit_to_partner":
                full = view is View.FACILITATOR
                partner = self.demand if full else self.public_demand
                partner_t = self.demand_t if full else self.public_demand_t
                return _times_rows(self.coverage_t, rows, partner, partner_t, columns)
            case "non_core_benefit":
                demand = self.demand if own_full else self.public_demand
                zoned = self.zoned_demand if own_full else self.public_zoned_demand
                benefit = _times_rows(demand, rows, self.coverage_t, self.coverage, columns)
                benefit -= _times_rows(zoned, rows, self.zoned_coverage_t,
                                       self.zoned_coverage, columns)
                benefit[benefit < RESIDUE] = 0
                return benefit
            case "text":
                demand = self.demand if own_full else self.public_demand
                words = self.want_words if own_full else self.public_want_words
                labels = _times_rows(demand, rows, self.label_text_t, self.label_text, columns)
                labels += _times_rows(words, rows, self.description, self.description_t, columns)
                labels *= 0.5
                return labels
            case "tie":
                return _dense_rows(self.tie_strength, rows)[:, cols]
            case "common":  # ``linked`` is symmetric: rows @ linked = (linked @ rows.T).T
                return _times_rows(self.linked, rows, self.linked, self.linked, columns)
            case "adamic_adar":
                return _times_rows(self.linked_aa, rows, self.linked, self.linked, columns)
            case "rival":
                return _dense_rows(self.rivals, rows)[:, cols]
            case "not_rival":
                return _dense_rows(self.not_rivals, rows)[:, cols]
            case "core_overlap":
                return _times_rows(self.core, rows, self.core, self.core_t, columns)
            case "same_sector":
                return same_value(self.sector, rows, columns).astype(np.float32)
            case "same_region":
                return same_value(self.region, rows, columns).astype(np.float32)
            case "shared_customers":
                return _times_rows(self.customers, rows, self.customers, self.customers_t, columns)
            case "preferential":
                return np.log1p(np.outer(self.degree[rows], self.degree[cols])
                                ).astype(np.float32)
        raise KeyError(name)

    def competitor(self, f: dict[str, np.ndarray]) -> np.ndarray:
        """Rivals by the one rule of ``matching.rivalry.competing``, from a block's features
        (``RIVALRY_FEATURES``)."""
        return competing(f["rival"], f["not_rival"], f["same_sector"], f["same_region"],
                         f["core_overlap"], f["shared_customers"])


def _dense_rows(matrix: sp.csr_array, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of ``matrix`` as a dense float32 array. A request's few rows are read from
    the CSR arrays directly: scipy's fancy row indexing builds two sparse arrays per call, which
    cost more than the products of a one-member block."""
    if len(rows) > DENSE_BLOCK:
        return np.asarray(matrix[rows].toarray(), np.float32)
    out = np.zeros((len(rows), matrix.shape[1]), dtype=np.float32)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for k, r in enumerate(np.asarray(rows).tolist()):
        lo, hi = indptr[r], indptr[r + 1]
        out[k, indices[lo:hi]] = data[lo:hi]
    return out


def _times_rows(source: sp.csr_array, rows: np.ndarray, matrix: sp.csr_array,
                matrix_t: sp.csr_array, columns: np.ndarray | None = None) -> np.ndarray:
    """``source[rows] @ matrix.T`` as a dense float32 array (its ``columns`` only, when
    given); ``matrix_t`` is ``matrix`` transposed. A request's few rows sum the rows of
    ``matrix_t`` their entries name; a large block is one sparse product with the row form,
    whose entry (b, a) sums row b of ``matrix`` in its stored order: taking only the rows
    ``columns`` of ``matrix`` leaves each value as it was."""
    if len(rows) <= DENSE_BLOCK:
        out = np.empty((len(rows), matrix.shape[0]), dtype=np.float32)
        indptr, indices, data = source.indptr, source.indices, source.data
        for k, r in enumerate(np.asarray(rows).tolist()):
            lo, hi = indptr[r], indptr[r + 1]
            out[k] = gathered(matrix_t, indices[lo:hi], data[lo:hi])
        return out if columns is None else out[:, columns]
    left = matrix if columns is None else sp.csr_array(matrix[columns])
    product = sp.csr_array(left @ sp.csr_array(source[rows]).T).toarray()
    return np.ascontiguousarray(np.asarray(product).T, dtype=np.float32)


DENSE_BLOCK = 64
