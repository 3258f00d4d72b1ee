"""Load documents from files: JSON network or taxonomy documents, or CSV folders and zips."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.batches import Progress
from graph.csv_format import read_csv_document, relocate
from graph.database import Database
from graph.store import ImportSummary, import_network, load_taxonomy
from graph.validation import DocumentInvalid, Problem, read_json


@dataclass(frozen=True)
class DocumentFile:
    """A parsed file, not yet validated against the stored taxonomy."""

    path: Path
    raw: Any
    csv_rows: dict[str, str] = field(default_factory=dict)  # JSON path -> "file row N"

    @property
    def is_taxonomy(self) -> bool:
        return isinstance(self.raw, dict) and "network" not in self.raw and "capabilities" in self.raw


@dataclass(frozen=True)
class Loaded:
    path: Path
    taxonomy_size: int | None = None  # set for a taxonomy document
    summary: ImportSummary | None = None  # set for a network document


def read_document_file(path: str | Path) -> DocumentFile:
    path = Path(path)
    if not path.exists():
        raise DocumentInvalid([Problem("", "no such file or folder")], str(path))
    if path.suffix == ".json":
        return DocumentFile(path, read_json(path))
    raw, where = read_csv_document(path)
    return DocumentFile(path, raw, where)


def load_document_file(db: Database, document: DocumentFile,
                       progress: Progress | None = None) -> Loaded:
    """Validate and write one parsed file; on any problem raise ``DocumentInvalid``, writing nothing.

    ``progress`` hears of members and ties as they are written (``graph.store.import_network``).
    """
    source = str(document.path)
    if document.is_taxonomy:
        taxonomy = load_taxonomy(db, document.raw, source)
        return Loaded(document.path, taxonomy_size=len(taxonomy.capabilities))
    try:
        return Loaded(document.path,
                      summary=import_network(db, document.raw, source, progress=progress))
    except DocumentInvalid as exc:
        raise relocate(exc, document.csv_rows) if document.csv_rows else exc from None


def load_path(db: Database, path: str | Path) -> Loaded:
    return load_document_file(db, read_document_file(path))
