"""Collaboration projects: created from opportunities, moved through phases, with outcomes."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from neo4j import ManagedTransaction
from neo4j.exceptions import ConstraintError

from graph import queries as q
from graph.acting import Acting, who
from graph.changes import ChangeKind, record_change
from graph.database import Database
from graph.disclosure import public_participation
from graph.introductions import Conflict, list_introductions
from graph.store import read_network, read_projects, write_projects
from graph.validation import DocumentInvalid, Problem, validate_network
from matching.workflow import Actor, Phase, project_transition


class ProjectNotFound(LookupError):
    """No project with this id in this network."""


def get_project(db: Database, nid: str, pid: str) -> dict[str, Any]:
    read_network(db, nid)
    found = read_projects(db, nid, pid)
    if not found:
        raise ProjectNotFound(pid)
    return found[0]


def create_project(db: Database, nid: str, body: dict[str, Any], by: str | Acting,
                   now: dt.datetime | None = None, phase: Phase = Phase.OPPORTUNITY
                   ) -> dict[str, Any]:
    """Validate a project like the import does (members of this network), then store it, in
    ``phase`` (a consortium already formed starts in design)."""
    now = now or dt.datetime.now(dt.UTC)
    read_network(db, nid)
    raw = {"id": secrets.token_hex(6), **{k: v for k, v in body.items() if v is not None},
           "phase": phase.value,
           "history": [{"at": now.isoformat(), "phase": phase.value, **who(by)}]}
    members = [{"id": m["member"], "name": m["member"]} for m in raw.get("members", [])
               if isinstance(m, dict) and isinstance(m.get("member"), str)]
    existing = {row["id"] for row in db.query(q.MEMBERS_IN, nid=nid,
                                              ids=[m["id"] for m in members])}
    problems = [Problem(f"members[{i}].member", f"member {m['id']!r} is not in this network")
                for i, m in enumerate(members) if m["id"] not in existing]
    if problems:
        raise DocumentInvalid(problems)
    try:
        project = validate_network({"network": {"id": nid, "name": nid},
                                    "members": [dict(m) for m in {m["id"]: m for m in members}
                                                .values()],
                                    "projects": [raw]}, {}).projects[0]
    except DocumentInvalid as exc:
        raise DocumentInvalid([Problem(p.path.removeprefix("projects[0]."), p.message)
                               for p in exc.problems]) from None

    def work(tx: ManagedTransaction) -> None:
        write_projects(tx, nid, [project], replace=False)
        record_change(tx, nid, ChangeKind.PROJECT, [m.member for m in project.members])

    try:
        db.write(work, attempts=1)
    except ConstraintError:  # the database's uniqueness of (network, id)
        raise Conflict(f"a project {project.id!r} already exists") from None
    return get_project(db, nid, project.id)


def move_project(db: Database, nid: str, pid: str, target: str, actor: Actor, by: str | Acting,
                 reason: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """One phase forward, or abandoned with a reason; timestamped in the project's history.

    Locked, read, checked and moved in one transaction: of concurrent moves exactly one wins, the
    others see the phase it reached and fail with ``TransitionError`` (409).
    """
    now = now or dt.datetime.now(dt.UTC)
    read_network(db, nid)

    def work(tx: ManagedTransaction) -> None:
        row = tx.run(q.LOCK_PROJECT, nid=nid, pid=pid).single()
        if row is None:
            raise ProjectNotFound(pid)
        phase = project_transition(Phase(row["phase"]), Phase(target), actor, reason)
        entry = {"at": now.isoformat(), "phase": phase.value, **who(by)}
        if reason:
            entry["reason"] = reason
        history = json.dumps([*json.loads(row["history"] or "[]"), entry])
        tx.run(q.MOVE_PROJECT, nid=nid, pid=pid, phase=phase.value, history=history).consume()
        record_change(tx, nid, ChangeKind.PROJECT)

    db.write(work)
    return get_project(db, nid, pid)


def delete_project(db: Database, nid: str, pid: str) -> None:
    """Delete a project and its participations (a facilitator's mistake, a test run);
    ProjectNotFound when there is none. Abandoning keeps a project's history: prefer that."""
    read_network(db, nid)

    def work(tx: ManagedTransaction) -> int:
        deleted = int(tx.run(q.DELETE_PROJECT, nid=nid, pid=pid).single()["deleted"])
        if deleted:
            record_change(tx, nid, ChangeKind.PROJECT)
        return deleted

    if not db.write(work):
        raise ProjectNotFound(pid)


def set_outcomes(db: Database, nid: str, pid: str, outcomes: dict[str, Any]) -> dict[str, Any]:
    get_project(db, nid, pid)

    def work(tx: ManagedTransaction) -> None:
        tx.run(q.SET_OUTCOMES, nid=nid, pid=pid, outcomes=json.dumps(outcomes)).consume()
        record_change(tx, nid, ChangeKind.PROJECT)

    db.write(work)
    return get_project(db, nid, pid)


def member_projects(db: Database, nid: str, mid: str, reader: str | None = None
                    ) -> list[dict[str, Any]]:
    """A member's participation and the outcomes of its projects, for its profile.

    ``reader`` None is the facilitator's full view. Otherwise it is the id of the member reading
    ("" for an analyst): a project born from a weakness that the reader is not part of shows
    only what ``graph.disclosure`` lets outsiders see.
    """
    out = []
    for project in read_projects(db, nid):
        role = next((m["role"] for m in project["members"] if m["member"] == mid), None)
        if role is not None:
            entry = {"id": project["id"], "title": project["title"], "kind": project["kind"],
                     "phase": project["phase"], "role": role, "outcomes": project["outcomes"]}
            if reader is not None and all(m["member"] != reader for m in project["members"]):
                entry = public_participation(entry, project)
            out.append(entry)
    return out


def collaboration_metrics(db: Database, nid: str, n_members: int,
                          now: dt.datetime | None = None) -> dict[str, Any]:
    """Projects per phase, days in the current phase, realised savings, members in a project,
    and introductions by status: the facilitator's view of cooperation under way."""
    now = now or dt.datetime.now(dt.UTC)
    projects = read_projects(db, nid)
    per_phase: dict[str, int] = {phase.value: 0 for phase in Phase}
    days: dict[str, list[float]] = {}
    involved: set[str] = set()
    for project in projects:
        per_phase[project["phase"]] += 1
        if project["history"]:
            since = dt.datetime.fromisoformat(project["history"][-1]["at"])
            days.setdefault(project["phase"], []).append((now - since).total_seconds() / 86400)
        involved.update(m["member"] for m in project["members"])
    introductions: dict[str, int] = {}
    for intro in list_introductions(db, nid, now=now):
        introductions[intro["status"]] = introductions.get(intro["status"], 0) + 1
    return {
        "projects": {"total": len(projects), "per_phase": per_phase,
                     "mean_days_in_phase": {k: round(sum(v) / len(v), 1) for k, v in days.items()},
                     "realised_saving": round(sum(p["outcomes"].get("realised_saving") or 0
                                                  for p in projects), 2),
                     "expected_saving": round(sum(p["outcomes"].get("expected_saving") or 0
                                                  for p in projects), 2),
                     "member_share": round(len(involved) / n_members, 4) if n_members else 0.0},
        "introductions": introductions,
    }
