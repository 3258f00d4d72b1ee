"""Capability labels for people, in the reader's language: the taxonomy's ``label_es`` for
Spanish readers, its English ``label`` otherwise (and wherever no Spanish label is given)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from api.web.i18n import language
from graph.database import Database
from graph.store import NetworkNotFound, read_taxonomy, versions


@dataclass(frozen=True)
class Label:
    id: str
    en: str
    es: str | None = None
    unit: str | None = None  # what capacities of it are counted in

    @property
    def text(self) -> str:
        """The label in the language of the request being answered."""
        return self.es if language() == "es" and self.es else self.en

    @property
    def other(self) -> str | None:
        """The label in the other language, when it differs (for pickers searchable in both)."""
        other = self.en if self.text == self.es else self.es
        return other if other and other != self.text else None


def capability_labels(db: Database, nid: str | None) -> dict[str, Label]:
    """Labels of the shared capabilities and of network ``nid``'s own.

    Every page shows labels: they are read once per version of the network and of the shared
    taxonomy (one indexed lookup), not once per page (the taxonomy's read takes 0.1 s beside a
    10,000-member network: each capability node is reached through its members' edges)."""
    try:
        key = (nid, *versions(db, nid)) if nid else None
    except NetworkNotFound:
        key = None
    with _lock:
        if key is not None and key in _read:
            return _read[key]
    labels = {cap["id"]: Label(cap["id"], cap.get("label") or cap["id"], cap.get("label_es"),
                               cap.get("unit"))
              for cap in read_taxonomy(db, nid)}
    if key is not None:
        with _lock:
            _read[key] = labels
            while len(_read) > KEPT:
                _read.pop(next(iter(_read)))
    return labels


KEPT = 16  # networks' label sets kept (the oldest read goes first)
_lock = threading.Lock()
_read: dict[tuple[str, int, int], dict[str, Label]] = {}


class Labels(dict):
    """``labels[id]`` never fails: an unknown id shows as itself."""

    def __missing__(self, key: str) -> Label:
        return Label(key, key)
