"""The state machines of introductions and collaboration projects: pure rules, no storage.

An introduction is double opt-in: the requester asks, a facilitator approves when the network's
policy says so, the other member accepts or declines; only an accepted introduction reveals
contact details. A project moves through the phases in which networks build cooperation, one
step at a time, from opportunity search to implementation, or is abandoned with a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Actor(StrEnum):
    """Who acts, relative to the introduction or project."""

    MANAGER = "manager"  # the network's facilitator, or an admin
    REQUESTER = "requester"
    RECIPIENT = "recipient"
    LEAD = "lead"  # a project's lead member
    OTHER = "other"  # any other member or an analyst


class TransitionError(ValueError):
    """The action is not allowed in this state or for this actor."""

    def __init__(self, message: str, *, forbidden: bool = False):
        super().__init__(message)
        self.forbidden = forbidden  # the actor may not; otherwise the state does not allow it


# -- introductions --------------------------------------------------------------------------
class IntroStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    PENDING_RESPONSE = "pending_response"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


OPEN_INTRODUCTIONS = (IntroStatus.PENDING_APPROVAL, IntroStatus.PENDING_RESPONSE)

# action -> (states it leaves, state it reaches, actors who may take it)
INTRODUCTION_ACTIONS: dict[str, tuple[tuple[IntroStatus, ...], IntroStatus, frozenset[Actor]]] = {
    "approve": ((IntroStatus.PENDING_APPROVAL,), IntroStatus.PENDING_RESPONSE,
                frozenset({Actor.MANAGER})),
    "reject": ((IntroStatus.PENDING_APPROVAL,), IntroStatus.REJECTED, frozenset({Actor.MANAGER})),
    # Consent is the recipient's own: nobody accepts or declines on its behalf.
    "accept": ((IntroStatus.PENDING_RESPONSE,), IntroStatus.ACCEPTED,
               frozenset({Actor.RECIPIENT})),
    "decline": ((IntroStatus.PENDING_RESPONSE,), IntroStatus.DECLINED,
                frozenset({Actor.RECIPIENT})),
    "cancel": (OPEN_INTRODUCTIONS, IntroStatus.CANCELLED,
               frozenset({Actor.REQUESTER, Actor.MANAGER})),
}


@dataclass(frozen=True)
class IntroductionPolicy:
    """A network's rules: when a facilitator must approve, and how long things last."""

    approval: str = "auto"  # auto: when the two compete or have no tie; always; never
    expiry_days: int = 14
    suppress_declined_days: int = 180

    def needs_approval(self, *, competitors: bool, tied: bool) -> bool:
        if self.approval == "always":
            return True
        if self.approval == "never":
            return False
        return competitors or not tied


def initial_status(policy: IntroductionPolicy, *, competitors: bool, tied: bool) -> IntroStatus:
    if policy.needs_approval(competitors=competitors, tied=tied):
        return IntroStatus.PENDING_APPROVAL
    return IntroStatus.PENDING_RESPONSE


def effective_status(status: str, expires: str, now: dt.datetime) -> IntroStatus:
    """An open request past its expiry time counts as expired, stored or not."""
    current = IntroStatus(status)
    if current in OPEN_INTRODUCTIONS and now.isoformat() >= expires:
        return IntroStatus.EXPIRED
    return current


def introduction_transition(status: IntroStatus, action: str, actor: Actor) -> IntroStatus:
    """The state an action leads to, or ``TransitionError``."""
    if action not in INTRODUCTION_ACTIONS:
        raise TransitionError(f"unknown action {action!r}; one of "
                              f"{', '.join(INTRODUCTION_ACTIONS)}")
    sources, target, actors = INTRODUCTION_ACTIONS[action]
    if actor not in actors:
        raise TransitionError(f"{action} is for the {' or '.join(sorted(actors))}, not the "
                              f"{actor}", forbidden=True)
    if status not in sources:
        raise TransitionError(f"cannot {action} an introduction that is {status}")
    return target


# -- projects -------------------------------------------------------------------------------
class Phase(StrEnum):
    OPPORTUNITY = "opportunity"
    SHARED_GOALS = "shared_goals"
    DESIGN = "design"
    IMPLEMENTATION = "implementation"
    DONE = "done"
    ABANDONED = "abandoned"


PHASE_ORDER = (Phase.OPPORTUNITY, Phase.SHARED_GOALS, Phase.DESIGN, Phase.IMPLEMENTATION,
               Phase.DONE)
PROJECT_ACTORS = frozenset({Actor.MANAGER, Actor.LEAD})


def project_transition(phase: Phase, target: Phase, actor: Actor, reason: str | None = None
                       ) -> Phase:
    """Move a project one phase forward, or abandon it with a reason."""
    if actor not in PROJECT_ACTORS:
        raise TransitionError("only the network's facilitators and the project lead move a "
                              "project", forbidden=True)
    if phase in (Phase.DONE, Phase.ABANDONED):
        raise TransitionError(f"the project is {phase}: it does not move any more")
    if target is Phase.ABANDONED:
        if not reason or not reason.strip():
            raise TransitionError("abandoning a project needs a reason")
        return target
    following = PHASE_ORDER[PHASE_ORDER.index(phase) + 1]
    if target is not following:
        raise TransitionError(f"a project in {phase} moves to {following} (or abandoned), "
                              f"not to {target}")
    return target
