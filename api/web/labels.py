"""Capability labels for people, in the reader's language: the taxonomy's ``label_es`` for
Spanish readers, its English ``label`` otherwise (and wherever no Spanish label is given)."""

from __future__ import annotations

from dataclasses import dataclass

from api.web.i18n import language
from graph.database import Database
from graph.store import read_taxonomy


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
    """Labels of the shared capabilities and of network ``nid``'s own."""
    return {cap["id"]: Label(cap["id"], cap.get("label") or cap["id"], cap.get("label_es"),
                             cap.get("unit"))
            for cap in read_taxonomy(db, nid)}


class Labels(dict):
    """``labels[id]`` never fails: an unknown id shows as itself."""

    def __missing__(self, key: str) -> Label:
        return Label(key, key)
