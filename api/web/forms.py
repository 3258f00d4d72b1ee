"""The member profile form: a member dict to form rows, form fields back to a member dict,
and validation problems (paths like ``capabilities[0].level``) to the form fields they name."""

from __future__ import annotations

import re
from typing import Any

from api.web import numbers
from api.web.messages import plain
from graph.document import MemberSize, NeedKind

TEXT_FIELDS = ("name", "sector", "region", "size", "description", "contact")
NUMBER_FIELDS = ("hours_per_month",)  # hours a month the member gives to co-operation
ID_LIST_FIELDS = ("customers",)  # ids typed in one box, separated by commas or spaces
DECIMALS = ("volume", "capacity")
LISTS = {  # list -> its fields after the capability id
    "capabilities": ("level", "capacity", "core"),  # core: a checkbox, posted only when ticked
    "weaknesses": ("severity",),
    "needs": ("kind", "urgency", "volume"),
}
BLANK_ROWS = 2
SIZES = [s.value for s in MemberSize]
NEED_KINDS = [k.value for k in NeedKind]


def rows_of(member: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Each list as form rows (strings), with blank rows to add entries."""
    rows = {}
    for key, fields in LISTS.items():
        entries = [{f: "" if e.get(f) is None else _show(e[f]) for f in ("id", *fields)}
                   for e in member.get(key, [])]
        for row in entries:
            if "core" in row:  # a ticked box, or none (False is the same as not marked)
                row["core"] = "true" if row["core"] == "True" else ""
        rows[key] = entries + [{f: "" for f in ("id", *fields)} for _ in range(BLANK_ROWS)]
    return rows


def _show(value: Any) -> str:
    return numbers.shown(value)


def _number(text: str, kind: type) -> Any:
    return numbers.read(text, kind)  # in the reader's language; the validator says what is wrong


def _row_order(digits: str) -> tuple[int, str, str]:
    """The numeric order of a row number written in digits, whatever its length (then "01"
    after "1": two rows, each with its own fields)."""
    significant = digits.lstrip("0")
    return len(significant), significant, digits


def parse(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """(the member dict for put_member, the rows as typed, blank ones dropped then re-added).

    Row i of a list in the re-rendered form is entry i of the member, so problem paths map
    straight onto fields."""
    member: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        value = form.get(field, "").strip()
        if value:
            member[field] = value
    for field in NUMBER_FIELDS:
        value = form.get(field, "").strip()
        if value:
            member[field] = _number(value, float)
    for field in ID_LIST_FIELDS:
        ids = [v for v in re.split(r"[,\s]+", form.get(field, "")) if v]
        if ids:
            member[field] = ids
    rows: dict[str, list[dict[str, str]]] = {}
    for key, fields in LISTS.items():
        rows[key], member[key] = [], []
        # Row numbers are compared as digit strings, never made ints: a name with thousands
        # of digits (Python refuses to convert over 4300) is only a row placed last.
        indices = sorted({m.group(1) for name in form
                          if (m := re.fullmatch(rf"{key}\.(\d+)\.id", name))}, key=_row_order)
        for i in indices:
            row = {f: form.get(f"{key}.{i}.{f}", "").strip() for f in ("id", *fields)}
            if not row["id"]:
                continue
            entry: dict[str, Any] = {"id": row["id"]}
            for f in fields:
                if f == "core":
                    if row[f]:
                        entry[f] = True
                elif row[f]:
                    entry[f] = _number(row[f], float if f in DECIMALS else int) \
                        if f != "kind" else row[f]
            member[key].append(entry)
            rows[key].append(row)
        rows[key] += [{f: "" for f in ("id", *fields)} for _ in range(BLANK_ROWS)]
    return member, rows


def field_errors(problems: list[dict[str, str]]) -> dict[str, str]:
    """Problem paths as form field names (``needs[1].urgency`` -> ``needs.1.urgency``), each
    with its problems in plain words of the reader's language."""
    errors: dict[str, str] = {}
    for problem in problems:
        path = problem["path"] or "form"
        match = re.fullmatch(r"(\w+)\[(\d+)\]\.?(\w*).*", path)
        if match and match.group(1) in LISTS:
            field = f"{match.group(1)}.{match.group(2)}.{match.group(3) or 'id'}"
        else:
            field = path.split(".")[0].split("[")[0] or "form"
        message = plain(problem["message"])
        errors[field] = f"{errors[field]} {message}" if field in errors else message
    return errors
