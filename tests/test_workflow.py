"""Every allowed and forbidden transition of introductions and projects, by every actor."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from matching.workflow import (
    INTRODUCTION_ACTIONS,
    PHASE_ORDER,
    Actor,
    IntroductionPolicy,
    IntroStatus,
    Phase,
    TransitionError,
    effective_status,
    initial_status,
    introduction_transition,
    project_transition,
)

ALLOWED_INTRODUCTION = {  # (status, action) -> (actors allowed, target)
    (IntroStatus.PENDING_APPROVAL, "approve"): ({Actor.MANAGER}, IntroStatus.PENDING_RESPONSE),
    (IntroStatus.PENDING_APPROVAL, "reject"): ({Actor.MANAGER}, IntroStatus.REJECTED),
    (IntroStatus.PENDING_APPROVAL, "cancel"): ({Actor.MANAGER, Actor.REQUESTER},
                                              IntroStatus.CANCELLED),
    (IntroStatus.PENDING_RESPONSE, "accept"): ({Actor.RECIPIENT}, IntroStatus.ACCEPTED),
    (IntroStatus.PENDING_RESPONSE, "decline"): ({Actor.RECIPIENT}, IntroStatus.DECLINED),
    (IntroStatus.PENDING_RESPONSE, "cancel"): ({Actor.MANAGER, Actor.REQUESTER},
                                              IntroStatus.CANCELLED),
}
INTRO_CASES = list(itertools.product(IntroStatus, INTRODUCTION_ACTIONS, Actor))


@pytest.mark.parametrize(("status", "action", "actor"), INTRO_CASES,
                         ids=[f"{s}-{a}-{r}" for s, a, r in INTRO_CASES])
def test_every_introduction_transition(status: IntroStatus, action: str, actor: Actor) -> None:
    allowed = ALLOWED_INTRODUCTION.get((status, action))
    if allowed and actor in allowed[0]:
        assert introduction_transition(status, action, actor) is allowed[1]
        return
    with pytest.raises(TransitionError) as refused:
        introduction_transition(status, action, actor)
    # an actor who may never take this action is told so (403); otherwise the state refuses (409)
    may_ever = actor in INTRODUCTION_ACTIONS[action][2]
    assert refused.value.forbidden is (not may_ever)


def test_policy_decides_whether_a_facilitator_approves_first() -> None:
    auto = IntroductionPolicy()
    assert initial_status(auto, competitors=True, tied=True) is IntroStatus.PENDING_APPROVAL
    assert initial_status(auto, competitors=False, tied=False) is IntroStatus.PENDING_APPROVAL
    assert initial_status(auto, competitors=False, tied=True) is IntroStatus.PENDING_RESPONSE
    assert initial_status(IntroductionPolicy(approval="always"), competitors=False,
                          tied=True) is IntroStatus.PENDING_APPROVAL
    assert initial_status(IntroductionPolicy(approval="never"), competitors=True,
                          tied=False) is IntroStatus.PENDING_RESPONSE


def test_open_requests_expire() -> None:
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    later = (now + dt.timedelta(days=14)).isoformat()
    assert effective_status("pending_response", later, now) is IntroStatus.PENDING_RESPONSE
    assert effective_status("pending_response", later, now + dt.timedelta(days=15)) \
        is IntroStatus.EXPIRED
    assert effective_status("accepted", later, now + dt.timedelta(days=15)) is IntroStatus.ACCEPTED
    with pytest.raises(TransitionError):
        introduction_transition(IntroStatus.EXPIRED, "accept", Actor.RECIPIENT)


PROJECT_CASES = list(itertools.product(Phase, Phase, Actor))


@pytest.mark.parametrize(("phase", "target", "actor"), PROJECT_CASES,
                         ids=[f"{p}-{t}-{a}" for p, t, a in PROJECT_CASES])
def test_every_project_transition(phase: Phase, target: Phase, actor: Actor) -> None:
    open_phase = phase not in (Phase.DONE, Phase.ABANDONED)
    next_phase = (PHASE_ORDER[PHASE_ORDER.index(phase) + 1] if open_phase else None)
    allowed = (actor in (Actor.MANAGER, Actor.LEAD) and open_phase
               and (target is next_phase or target is Phase.ABANDONED))
    if allowed:
        assert project_transition(phase, target, actor, reason="no budget") is target
    else:
        with pytest.raises(TransitionError):
            project_transition(phase, target, actor, reason="no budget")


def test_abandoning_needs_a_reason() -> None:
    with pytest.raises(TransitionError, match="reason"):
        project_transition(Phase.DESIGN, Phase.ABANDONED, Actor.MANAGER, reason="  ")
