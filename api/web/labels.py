"""Capability labels for people: the taxonomy's English label, and a Spanish synonym if any.

The taxonomy has no language tags; a synonym counts as Spanish when it carries Spanish letters
or a Spanish word or ending (``gestión de la calidad``, ``contabilidad``, ``fisioterapia``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.database import Database
from graph.store import read_taxonomy

_SPANISH = re.compile(  # strong signs: Spanish letters, small words, endings
    r"[áéíóúñü¿¡]|\b(de|del|la|las|el|los|y|para|por|en|con)\b"
    r"|(ción|ciones|dad|dades|ía|ías|ería|aje|ista|ura|ado|ada|izo)\b", re.IGNORECASE)
_SPANISH_WEAK = re.compile(r"(ia|ios|ales|ivos|ivas|encia|ancia|ores|eros|ina|ible|ante)\b",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Label:
    id: str
    en: str
    es: str | None = None
    unit: str | None = None  # what capacities of it are counted in


def spanish(label: str, synonyms: list[str]) -> str | None:
    candidates = [s for s in synonyms if s.lower() != label.lower()]
    for pattern in (_SPANISH, _SPANISH_WEAK):
        found = next((s for s in candidates if pattern.search(s)), None)
        if found:
            return found
    return None


def capability_labels(db: Database, nid: str | None) -> dict[str, Label]:
    """Labels of the shared capabilities and of network ``nid``'s own."""
    labels = {}
    for cap in read_taxonomy(db, nid):
        en = cap.get("label") or cap["id"]
        labels[cap["id"]] = Label(cap["id"], en, spanish(en, cap.get("synonyms") or []),
                                  cap.get("unit"))
    return labels


class Labels(dict):
    """``labels[id]`` never fails: an unknown id shows as itself."""

    def __missing__(self, key: str) -> Label:
        return Label(key, key)
