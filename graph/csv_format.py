"""The CSV form of a network document: a folder or zip of plain tables.

| file                      | columns                                          |
|---------------------------|--------------------------------------------------|
| network.csv (one row)     | id, name, sector, region, description            |
| capabilities.csv (opt.)   | id, label, kind, broader, synonyms (``|``), unit, |
|                           | label_es, serves (capability ids, ``|``-joined)  |
| members.csv               | id, name, sector, region, size, description,     |
|                           | hours_per_month, customers (segment ids, ``|``)  |
| member_capabilities.csv   | member, capability, level, capacity, core        |
|                           | (``true``/``false``: the member's core business) |
| member_weaknesses.csv     | member, capability, severity (optional file)     |
| member_needs.csv          | member, capability, kind, urgency, volume        |
| ties.csv                  | source, target, type, weight, since              |
| agents.csv (optional)     | id, name, kind, region, description, contact,    |
|                           | offers (capability ids, ``|``-joined)            |
| rivalries.csv (optional)  | a, b, verdict (rivals, not_rivals), note, at     |

Empty cells mean "not given"; an empty ``serves`` cell too (write the column only where a
capability serves something). Booleans read ``true``/``false`` (also ``yes``/``no``, ``1``/``0``). Problems are reported by file and row (``members.csv row 4: name:
...``) and validation is exactly that of the JSON document, which this module builds.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from graph.validation import DocumentInvalid, Problem

SYNONYM_SEPARATOR = "|"
TABLES: dict[str, tuple[str, ...]] = {
    "network.csv": ("id", "name", "sector", "region", "description"),
    "capabilities.csv": ("id", "label", "kind", "broader", "synonyms", "unit", "label_es",
                         "serves"),
    "members.csv": ("id", "name", "sector", "region", "size", "description", "hours_per_month",
                    "customers"),
    "member_capabilities.csv": ("member", "capability", "level", "capacity", "core"),
    "member_weaknesses.csv": ("member", "capability", "severity"),
    "member_needs.csv": ("member", "capability", "kind", "urgency", "volume"),
    "ties.csv": ("source", "target", "type", "weight", "since"),
    "agents.csv": ("id", "name", "kind", "region", "description", "contact", "offers"),
    "rivalries.csv": ("a", "b", "verdict", "note", "at"),
}
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
REQUIRED = ("network.csv", "members.csv")
_MEMBER_LISTS = {  # file -> (member list, value column)
    "member_capabilities.csv": ("capabilities", "level"),
    "member_weaknesses.csv": ("weaknesses", "severity"),
    "member_needs.csv": ("needs", "urgency"),
}


def _number(text: str) -> Any:
    """Numbers become numbers; anything else stays text, so validation can say what is wrong."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such a
# cell is written with a leading apostrophe, which spreadsheets show as text and which is read
# back off. A value that itself starts with an apostrophe before one of these gets one more.
FORMULA_STARTS = ("=", "+", "-", "@")


def neutralise(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet; ``restore`` undoes it."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or (
            value.startswith("'") and value[1:2] in (*FORMULA_STARTS, "'"))):
        return "'" + value
    return value


def restore(text: str) -> str:
    if text.startswith("'") and text[1:2] in (*FORMULA_STARTS, "'"):
        return text[1:]
    return text


def _clean(row: dict[str, str | None], numeric: tuple[str, ...],
           boolean: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value.strip() == "":
            continue
        value = value.strip()
        if key in boolean:  # anything else stays text, for validation to name
            out[key] = BOOLEANS.get(value.casefold(), value)
        else:
            out[key] = _number(value) if key in numeric else restore(value)
    return out


def _ids(cell: str) -> list[str]:
    return [s.strip() for s in cell.split(SYNONYM_SEPARATOR) if s.strip()]


def _read_tables(source: Path) -> dict[str, list[dict[str, str | None]]]:
    texts: dict[str, str] = {}
    if source.is_dir():
        for name in TABLES:
            if (source / name).exists():
                texts[name] = (source / name).read_text(encoding="utf-8-sig")
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                name = Path(info.filename).name
                if name in TABLES:
                    texts[name] = archive.read(info).decode("utf-8-sig")
    else:
        raise DocumentInvalid([Problem("", "expected a folder or zip of CSV files")], str(source))
    missing = [name for name in REQUIRED if name not in texts]
    if missing:
        raise DocumentInvalid([Problem(name, "required file is missing") for name in missing],
                              str(source))
    return {name: list(csv.DictReader(io.StringIO(text))) for name, text in texts.items()}


def read_csv_document(source: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Build the raw network document from CSV tables.

    Returns the document and a map from JSON paths to "file row N", for ``relocate``.
    """
    source = Path(source)
    tables = _read_tables(source)
    where: dict[str, str] = {}
    problems: list[Problem] = []
    network_rows = tables["network.csv"]
    if len(network_rows) != 1:
        problems.append(Problem("network.csv", f"must have exactly one row, has {len(network_rows)}"))
    document: dict[str, Any] = {
        "network": _clean(network_rows[0], ()) if network_rows else {},
        "capabilities": [], "members": [], "ties": [],
    }
    where["network"] = "network.csv row 2"
    for n, row in enumerate(tables.get("capabilities.csv", []), start=2):
        cap = _clean(row, ())
        cap["synonyms"] = _ids(cap.get("synonyms", ""))
        if "serves" in cap:
            cap["serves"] = _ids(cap["serves"])
        where[f"capabilities[{len(document['capabilities'])}]"] = f"capabilities.csv row {n}"
        document["capabilities"].append(cap)
    members: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(tables["members.csv"], start=2):
        member = _clean(row, ("hours_per_month",))
        if "customers" in member:
            member["customers"] = _ids(member["customers"])
        member.update(capabilities=[], weaknesses=[], needs=[])
        prefix = f"members[{len(document['members'])}]"
        where[prefix] = f"members.csv row {n}"
        document["members"].append(member)
        members.setdefault(str(member.get("id")), member)
        member["_prefix"] = prefix
    for file, (key, value) in _MEMBER_LISTS.items():
        numeric = (value, "volume", "capacity")
        for n, row in enumerate(tables.get(file, []), start=2):
            entry = _clean(row, numeric, boolean=("core",))
            owner = members.get(str(entry.pop("member", None)))
            if owner is None:
                problems.append(Problem(f"{file} row {n}", f"member {row.get('member')!r} is not "
                                        "in members.csv"))
                continue
            if "capability" in entry:
                entry["id"] = entry.pop("capability")
            where[f"{owner['_prefix']}.{key}[{len(owner[key])}]"] = f"{file} row {n}"
            owner[key].append(entry)
    for member in document["members"]:
        del member["_prefix"]
    for n, row in enumerate(tables.get("ties.csv", []), start=2):
        where[f"ties[{len(document['ties'])}]"] = f"ties.csv row {n}"
        document["ties"].append(_clean(row, ("weight",)))
    for n, row in enumerate(tables.get("agents.csv", []), start=2):
        agent = _clean(row, ())
        agent["offers"] = _ids(agent.get("offers", ""))
        where[f"agents[{len(document.setdefault('agents', []))}]"] = f"agents.csv row {n}"
        document["agents"].append(agent)
    for n, row in enumerate(tables.get("rivalries.csv", []), start=2):
        where[f"rivalries[{len(document.setdefault('rivalries', []))}]"] = \
            f"rivalries.csv row {n}"
        document["rivalries"].append(_clean(row, ()))
    if problems:
        raise DocumentInvalid(problems, str(source))
    return document, where


def relocate(error: DocumentInvalid, where: dict[str, str]) -> DocumentInvalid:
    """Rewrite JSON paths of ``error`` as CSV file and row (``members.csv row 4, name``)."""
    problems = []
    for problem in error.problems:
        path, best = problem.path, ""
        for prefix in where:
            if (path == prefix or path.startswith(prefix + ".")) and len(prefix) > len(best):
                best = prefix
        if best:
            rest = path[len(best) + 1:]
            path = where[best] + (f", {rest}" if rest else "")
        problems.append(Problem(path, problem.message))
    return DocumentInvalid(problems, error.source)


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date: the same document always gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_csv_zip(document: dict[str, Any]) -> bytes:
    """The CSV tables of an exported document, zipped; ``read_csv_document`` reads them back."""

    def table(name: str, rows: list[dict[str, Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=TABLES[name], extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
        return buffer.getvalue()

    members = document.get("members", [])
    capabilities = [{**c, "synonyms": SYNONYM_SEPARATOR.join(c.get("synonyms", [])),
                     "serves": SYNONYM_SEPARATOR.join(c.get("serves") or [])}
                    for c in document.get("capabilities", [])]
    listed = {
        file: [{"member": m["id"], "capability": e["id"], **e,
                **({"core": str(e["core"]).lower()} if e.get("core") is not None else {})}
               for m in members for e in m[key]]
        for file, (key, _) in _MEMBER_LISTS.items()
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry("network.csv"), table("network.csv", [document["network"]]))
        archive.writestr(_entry("capabilities.csv"), table("capabilities.csv", capabilities))
        archive.writestr(_entry("members.csv"), table("members.csv", [
            {**m, "customers": SYNONYM_SEPARATOR.join(m.get("customers") or [])}
            for m in members]))
        for file, rows in listed.items():
            if rows or file != "member_weaknesses.csv":  # absent from exports without weaknesses
                archive.writestr(_entry(file), table(file, rows))
        archive.writestr(_entry("ties.csv"), table("ties.csv", document.get("ties", [])))
        agents = [{**a, "offers": SYNONYM_SEPARATOR.join(a.get("offers", []))}
                  for a in document.get("agents", [])]
        archive.writestr(_entry("agents.csv"), table("agents.csv", agents))
        if document.get("rivalries"):  # facilitators' exports only
            archive.writestr(_entry("rivalries.csv"), table("rivalries.csv",
                                                            document["rivalries"]))
    return buffer.getvalue()
