"""Validate an import document completely before anything is written.

Every problem is reported at once, each with the JSON path of the offending value
(``members[3].capabilities[0].level``) and a sentence saying what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx
from pydantic import ValidationError

from graph.document import NetworkDocument, TaxonomyDocument, TieType

M = TypeVar("M", NetworkDocument, TaxonomyDocument)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class DocumentInvalid(ValueError):
    """A document with at least one problem; nothing of it was written."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s), nothing written:\n{lines}")

    def as_errors(self) -> list[dict[str, str]]:
        return [{"path": p.path, "message": p.message} for p in self.problems]


class DocumentForbidden(DocumentInvalid):
    """A well-formed document that would change what its importer may not change (a shared
    capability, another network's capability, the network's own settings); nothing written."""


def json_path(loc: Iterable[Any]) -> str:
    """``('members', 3, 'level')`` -> ``members[3].level``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def brief(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a problem names the value, it does not echo
    the whole input back."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # no repr of a megabyte string just to cut it
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a field of this format (check the spelling)"
    return f"{error['msg']} (got {brief(error.get('input'))})"


def _structure_problems(exc: ValidationError) -> list[Problem]:
    return [Problem(json_path(e["loc"]), _describe(e)) for e in exc.errors()]


def read_json(path: str | Path) -> Any:
    """Parse a JSON file, turning syntax errors into a located problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentInvalid([Problem("", f"cannot read the file: {exc}")], str(path)) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentInvalid(
            [Problem("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")],
            str(path),
        ) from exc


def _items(raw: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The dict items of ``raw[key]`` with their indexes (structure errors are reported elsewhere)."""
    values = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(values, list):
        return []
    return [(i, item) for i, item in enumerate(values) if isinstance(item, dict)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _unique_ids(raw: Any, key: str, what: str) -> tuple[list[Problem], dict[str, int]]:
    """Repeated ids among ``raw[key]`` items, and where each id first appears."""
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, item in _items(raw, key):
        iid = _text(item.get("id"))
        if iid is None:
            continue
        if iid in first:
            problems.append(Problem(f"{key}[{i}].id", f"duplicate {what} id {brief(iid)} "
                                    f"(also {key}[{first[iid]}])"))
        else:
            first[iid] = i
    return problems, first


def _capability_problems(
    raw: Any, known_broader: Mapping[str, str | None]
) -> tuple[list[Problem], set[str]]:
    """Duplicate ids, unknown parents and cycles among the document's capabilities."""
    problems, defined = _unique_ids(raw, "capabilities", "capability")
    broader = dict(known_broader)
    for i, cap in _items(raw, "capabilities"):
        cid, parent = _text(cap.get("id")), _text(cap.get("broader"))
        if cid is None:
            continue
        broader[cid] = parent
        if parent is not None and parent not in known_broader and parent not in defined:
            problems.append(Problem(f"capabilities[{i}].broader",
                                    f"unknown capability {brief(parent)} (not in the taxonomy or this "
                                    "document)"))
        served = cap.get("serves")
        for k, target in enumerate(served if isinstance(served, list) else []):
            target = _text(target)
            if target == cid:
                problems.append(Problem(f"capabilities[{i}].serves[{k}]",
                                        "a capability does not serve itself"))
            elif target is not None and target not in known_broader and target not in defined:
                problems.append(Problem(f"capabilities[{i}].serves[{k}]",
                                        f"unknown capability {brief(target)} (not in the taxonomy "
                                        "or this document)"))
    hierarchy = nx.DiGraph((child, parent) for child, parent in broader.items() if parent)
    for cycle_nodes in nx.simple_cycles(hierarchy):
        local = [c for c in cycle_nodes if c in defined]
        if local:
            first = min(local, key=defined.__getitem__)
            loop = " -> ".join([*cycle_nodes, cycle_nodes[0]])
            problems.append(Problem(f"capabilities[{defined[first]}].broader",
                                    f"broader links form a cycle: {loop}"))
    return problems, set(defined) | set(known_broader)


def _member_problems(raw: Any, capability_ids: set[str]) -> tuple[list[Problem], set[str]]:
    problems, seen = _unique_ids(raw, "members", "member")
    # Ids are compared exactly, but two that differ only in case are refused: people (and
    # case-insensitive file systems, spreadsheets) would take them for one.
    by_case: dict[str, str] = {}
    for mid, i in seen.items():
        other = by_case.setdefault(mid.casefold(), mid)
        if other != mid:
            problems.append(Problem(f"members[{i}].id", f"member id {brief(mid)} differs from "
                                    f"{brief(other)} (members[{seen[other]}]) only in case"))
    for i, member in _items(raw, "members"):
        for field in ("capabilities", "weaknesses", "needs"):
            listed: dict[str, int] = {}
            for j, entry in _items(member, field):
                cid = _text(entry.get("id"))
                if cid is None:
                    continue
                where = f"members[{i}].{field}[{j}].id"
                if cid not in capability_ids:
                    problems.append(Problem(where, f"unknown capability {brief(cid)} (not in the "
                                            "taxonomy or this document)"))
                if cid in listed:
                    problems.append(Problem(where, f"capability {brief(cid)} is listed twice in "
                                            f"{field} (also {field}[{listed[cid]}])"))
                listed.setdefault(cid, j)
    return problems, set(seen)


def _tie_problems(raw: Any, member_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, tie in _items(raw, "ties"):
        source, target, kind = (_text(tie.get(k)) for k in ("source", "target", "type"))
        for end, mid in (("source", source), ("target", target)):
            if mid is not None and mid not in member_ids:
                problems.append(Problem(f"ties[{i}].{end}",
                                        f"member {brief(mid)} is not in this network's members"))
        if source is not None and source == target:
            problems.append(Problem(f"ties[{i}]", f"a member cannot be tied to itself ({brief(source)})"))
        if source and target and kind in TieType.__members__:
            key = (source, target, kind)
            if key in seen:
                problems.append(Problem(f"ties[{i}]", f"duplicate {kind} tie {source} -> {target} "
                                        f"(also ties[{seen[key]}])"))
            seen.setdefault(key, i)
    return problems


def _rivalry_problems(raw: Any, member_ids: set[str]) -> list[Problem]:
    """Verdicts name two different members of the network, each pair once (either order)."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, rivalry in _items(raw, "rivalries"):
        a, b = (_text(rivalry.get(k)) for k in ("a", "b"))
        for end, mid in (("a", a), ("b", b)):
            if mid is not None and mid not in member_ids:
                problems.append(Problem(f"rivalries[{i}].{end}",
                                        f"member {brief(mid)} is not in this network's members"))
        if a is not None and a == b:
            problems.append(Problem(f"rivalries[{i}]", f"a member cannot be its own rival "
                                    f"({brief(a)})"))
        elif a and b:
            key = (min(a, b), max(a, b))
            if key in seen:
                problems.append(Problem(f"rivalries[{i}]", f"a second verdict on {a} and {b} "
                                        f"(also rivalries[{seen[key]}])"))
            seen.setdefault(key, i)
    return problems


def _value_chain_problems(raw: Any, capability_ids: set[str]) -> list[Problem]:
    problems, _ = _unique_ids(raw, "value_chains", "value chain")
    for i, template in _items(raw, "value_chains"):
        for s, stage in _items(template, "stages"):
            low, high = stage.get("min_members", 1), stage.get("max_members", 1)
            if isinstance(low, int) and isinstance(high, int) and low > high:
                problems.append(Problem(f"value_chains[{i}].stages[{s}].min_members",
                                        f"is {low}, more than max_members ({high})"))
            requires = stage.get("requires")
            for r, cid in enumerate(requires if isinstance(requires, list) else []):
                if isinstance(cid, str) and cid not in capability_ids:
                    problems.append(Problem(f"value_chains[{i}].stages[{s}].requires[{r}]",
                                            f"unknown capability {brief(cid)} (not in the taxonomy "
                                            "or this document)"))
    return problems


def _project_problems(raw: Any, member_ids: set[str]) -> list[Problem]:
    problems, _ = _unique_ids(raw, "projects", "project")
    for i, project in _items(raw, "projects"):
        participants: dict[str | None, int] = {}
        for j, part in _items(project, "members"):
            mid = _text(part.get("member"))
            if mid is not None and mid not in member_ids:
                problems.append(Problem(f"projects[{i}].members[{j}].member",
                                        f"member {brief(mid)} is not in this network's members"))
            if mid is not None and mid in participants:
                problems.append(Problem(f"projects[{i}].members[{j}].member",
                                        f"member {brief(mid)} is listed twice (also "
                                        f"members[{participants[mid]}])"))
            participants.setdefault(mid, j)
        lead = _text(project.get("lead"))
        if lead is not None and lead not in participants:
            problems.append(Problem(f"projects[{i}].lead",
                                    f"the lead {brief(lead)} must be one of the project's members"))
    return problems


def _agent_problems(raw: Any, capability_ids: set[str], member_ids: set[str]) -> list[Problem]:
    problems, _ = _unique_ids(raw, "agents", "agent")
    for i, agent in _items(raw, "agents"):
        aid = _text(agent.get("id"))
        if aid is not None and aid in member_ids:
            problems.append(Problem(f"agents[{i}].id", f"{aid!r} is also a member id: agents "
                                    "are not members (give the agent another id)"))
        offers = agent.get("offers")
        for j, cid in enumerate(offers if isinstance(offers, list) else []):
            if isinstance(cid, str) and cid not in capability_ids:
                problems.append(Problem(f"agents[{i}].offers[{j}]", f"unknown capability "
                                        f"{cid!r} (not in the taxonomy or this document)"))
    return problems


def _order_problems(raw: Any, capability_ids: set[str], member_ids: set[str]) -> list[Problem]:
    problems, _ = _unique_ids(raw, "orders", "order")
    for i, order in _items(raw, "orders"):
        lead = _text(order.get("lead"))
        if lead is not None and lead not in member_ids:
            problems.append(Problem(f"orders[{i}].lead",
                                    f"member {lead!r} is not in this network's members"))
        for r, req in _items(order, "requirements"):
            cid = _text(req.get("capability"))
            if cid is not None and cid not in capability_ids:
                problems.append(Problem(f"orders[{i}].requirements[{r}].capability",
                                        f"unknown capability {cid!r} (not in the taxonomy or "
                                        "this document)"))
    return problems


def _validate(model: type[M], raw: Any, what: str, source: str | None,
              references: Callable[[Any], list[Problem]]) -> M:
    """Structure by the model and references by ``references``: both always run, so every
    problem is reported at once."""
    if not isinstance(raw, dict):
        raise DocumentInvalid([Problem("", f"a {what} document must be a JSON object")], source)
    problems: list[Problem] = []
    document: M | None = None
    try:
        document = model.model_validate(raw)
    except ValidationError as exc:
        problems += _structure_problems(exc)
    problems += references(raw)
    if problems or document is None:
        raise DocumentInvalid(problems, source)
    return document


def validate_network(
    raw: Any, known_broader: Mapping[str, str | None], source: str | None = None
) -> NetworkDocument:
    """Return the parsed document, or raise ``DocumentInvalid`` listing every problem.

    ``known_broader`` maps each capability id already in the shared taxonomy to its parent id.
    """

    def references(raw: Any) -> list[Problem]:
        cap_problems, capability_ids = _capability_problems(raw, known_broader)
        member_problems, member_ids = _member_problems(raw, capability_ids)
        return (cap_problems + member_problems + _tie_problems(raw, member_ids)
                + _value_chain_problems(raw, capability_ids) + _project_problems(raw, member_ids)
                + _agent_problems(raw, capability_ids, member_ids)
                + _order_problems(raw, capability_ids, member_ids)
                + _rivalry_problems(raw, member_ids))

    return _validate(NetworkDocument, raw, "network", source, references)


def validate_taxonomy(
    raw: Any, known_broader: Mapping[str, str | None], source: str | None = None
) -> TaxonomyDocument:
    """Like ``validate_network`` for a taxonomy document (``{"capabilities": [...]}``)."""
    return _validate(TaxonomyDocument, raw, "taxonomy", source,
                     lambda raw: _capability_problems(raw, known_broader)[0])
