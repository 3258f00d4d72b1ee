"""Load documents from files: JSON network or taxonomy documents, or CSV folders and zips."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graph.csv_format import read_csv_document, relocate
from graph.database import Database
from graph.store import ImportSummary, import_network, load_taxonomy
from graph.validation import DocumentInvalid, Problem, read_json


@dataclass(frozen=True)
class Loaded:
    path: Path
    taxonomy_size: int | None = None  # set for a taxonomy document
    summary: ImportSummary | None = None  # set for a network document


def is_taxonomy_file(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    raw = read_json(path)
    return isinstance(raw, dict) and "network" not in raw and "capabilities" in raw


def load_path(db: Database, path: str | Path) -> Loaded:
    """Validate and write one file; raises ``DocumentInvalid`` with every problem, writing nothing."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise DocumentInvalid([Problem("", "no such file or folder")], source)
    if path.suffix == ".json":
        raw = read_json(path)
        if isinstance(raw, dict) and "network" not in raw and "capabilities" in raw:
            document = load_taxonomy(db, raw, source)
            return Loaded(path, taxonomy_size=len(document.capabilities))
        return Loaded(path, summary=import_network(db, raw, source))
    raw, where = read_csv_document(path)
    try:
        return Loaded(path, summary=import_network(db, raw, source))
    except DocumentInvalid as exc:
        raise relocate(exc, where) from None


def taxonomy_first(paths: list[Path]) -> list[Path]:
    """Taxonomies before networks, so a network may use capabilities a taxonomy file defines."""
    return sorted(paths, key=lambda p: not is_taxonomy_file(p))
