"""What of a project or an introduction people outside it may read.

A project born from a weakness (cross-training, a shared certification) tells who is weak in
what: its title, goal, source and the roles (trainee, mentor) name the capability and the weak
members. Outside its participants and the network's facilitators, such a project shows only that
it exists, its kind, phase, participants and figures.

An introduction a facilitator proposed may rest on a weakness of either member (that is the
facilitator's view of the network), so members see "proposed by your facilitator", never the
facilitator's reasons.
"""

from __future__ import annotations

from typing import Any

from graph.acting import MANAGER_ROLES

WEAKNESS_KINDS = frozenset({"cross_training"})
WEAKNESS_OPPORTUNITIES = frozenset({"cross-training", "certification"})
WEAKNESS_ROLES = frozenset({"trainee", "mentee", "mentor"})
GENERIC_TITLES = {"cross_training": "A cross-training project"}
PARTICIPANT = "participant"
PROPOSED_BY_FACILITATOR = "proposed by your facilitator"


def born_from_weakness(project: dict[str, Any]) -> bool:
    """Cross-training, a source that is a cross-training or certification opportunity, or a
    trainee/mentor role: the project tells who is weak in what."""
    source = project.get("source") or {}
    roles = {str(m.get("role", "")).casefold() for m in project.get("members", [])}
    return (project.get("kind") in WEAKNESS_KINDS
            or source.get("opportunity") in WEAKNESS_OPPORTUNITIES
            or bool(roles & WEAKNESS_ROLES))


def _title(kind: str | None) -> str:
    return GENERIC_TITLES.get(kind or "", "A training or certification project")


def public_project(project: dict[str, Any]) -> dict[str, Any]:
    """The project as outsiders see it: unchanged unless it was born from a weakness; then
    without title, goal, source, lead, roles, certifications or reasons given in its history."""
    if not born_from_weakness(project):
        return project
    outcomes = {**project.get("outcomes", {})}
    if "certifications" in outcomes:
        outcomes["certifications"] = []
    shown = {"id": project["id"], "title": _title(project.get("kind")), "kind": project.get("kind"),
             "members": [{"member": m["member"], "role": PARTICIPANT}
                         for m in project.get("members", [])],
             "phase": project.get("phase"), "outcomes": outcomes,
             "history": [{k: v for k, v in entry.items() if k != "reason"}
                         for entry in project.get("history", [])]}
    return {k: v for k, v in shown.items() if v is not None}


def public_participation(entry: dict[str, Any], project: dict[str, Any]) -> dict[str, Any]:
    """One line of a member's project list (``graph.projects.member_projects``) for outsiders."""
    if not born_from_weakness(project):
        return entry
    outcomes = {**entry.get("outcomes", {})}
    if "certifications" in outcomes:
        outcomes["certifications"] = []
    return {**entry, "title": _title(project.get("kind")), "role": PARTICIPANT,
            "outcomes": outcomes}


def proposed_by_manager(introduction: dict[str, Any]) -> bool:
    """Whether a facilitator or an admin opened it (the stored history, before any view)."""
    first = (introduction.get("history") or [{}])[0]
    role = first.get("role") or str(first.get("by", "")).split(":", 1)[0]
    return role in MANAGER_ROLES


def member_introduction(introduction: dict[str, Any]) -> dict[str, Any]:
    """An introduction as its two members see it: a facilitator's reasons are not shown."""
    if not proposed_by_manager(introduction):
        return introduction
    return {**introduction, "suggestion_reasons": [PROPOSED_BY_FACILITATOR],
            "proposed_by": "your facilitator"}
