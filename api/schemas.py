"""Request and response bodies of the HTTP API (the member object is the import format's)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.security import Role
from graph.document import (
    Agent,
    CompetitorPolicy,
    FreeJson,
    Identifier,
    LongText,
    NetworkPolicy,
    OrderRequirement,
    Outcomes,
    Participant,
    ProjectKind,
    ProjectPhase,
    Text,
)


class ErrorItem(BaseModel):
    path: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem] | None = None


# Marks a POST that only computes an answer (its body is a question, such as an order to form a
# consortium for): it writes nothing, so its refusals must not say that nothing was written.
READS_ONLY_KEY = "x-reads-only"
READS_ONLY: dict[str, Any] = {READS_ONLY_KEY: True}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a router answers, all with the one error shape.

    Whatever checks a token (401) may also answer 429: failed authentications are throttled."""
    if 401 in codes and 429 not in codes:
        codes = (*codes, 429)
    return {code: {"model": ErrorResponse} for code in codes}


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    network: Identifier | None = None
    member: Identifier | None = None
    days: int | None = Field(None, ge=1, le=3650, description=(
        "How long the token lives; at most (and by default) the network policy's "
        "<role>_token_days (admin tokens: 90)"))


class TokenPublic(BaseModel):
    """A token as listed: never its secret."""

    id: str
    role: Role
    network: str | None = None
    member: str | None = None
    created: str | None = None
    expires: str | None = Field(None, description="UTC; null only for the bootstrap token")
    expired: bool = False
    issuer: str = Field(description="Who issued it, in words: an administrator, your "
                                    "facilitator, your invitation, the service")
    issued_by: str | None = Field(None, description="The issuing token's id (managers only)")
    invitation: str | None = None
    current: bool = Field(False, description="The token of this request")


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown once, only its hash is stored")


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member: Identifier
    days: int | None = Field(None, ge=1, le=90, description=(
        "How long the code may be redeemed (default: the policy's invitation_days)"))


class InvitationPublic(BaseModel):
    """An invitation as listed: never its code."""

    id: str
    network: str
    member: str
    status: Literal["open", "redeemed", "revoked", "expired"]
    created: str
    expires: str
    issued_by: str | None = None
    issuer_role: str | None = None
    redeemed: str | None = None
    token: str | None = Field(None, description="The token it was redeemed for")
    revoked: str | None = None


class InvitationCreated(InvitationPublic):
    code: str = Field(description="The single-use code; shown once, only its hash is stored")


class InvitationsPublic(BaseModel):
    network: str
    invitations: list[InvitationPublic]


class InvitationRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=200)


class NetworkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Identifier | None = None
    name: Text
    sector: Text | None = None
    region: Text | None = None
    description: LongText | None = None
    policy: NetworkPolicy | None = None


class NetworkPublic(BaseModel):
    id: str
    name: str
    sector: str | None = None
    region: str | None = None
    description: str | None = None
    policy: NetworkPolicy | None = None


class ImportResult(BaseModel):
    network: str
    members: int
    capabilities: int
    weaknesses: int
    needs: int
    ties: dict[str, int]


class MembersPublic(BaseModel):
    network: str
    count: int
    members: list[dict[str, Any]]


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok; degraded: reads work but writes fail (see `writes`); unavailable")
    database: Literal["ok", "unreachable", "restarting"]
    writes: str = Field("ok", description="ok, or why writes fail now (a full disk)")
    matchers: dict[str, int] | None = Field(
        None, description="Networks with a live matcher (ready) and those being fitted; "
                          "warming: 1 while the fits of every network at start-up run, 0 once "
                          "they are done (the service is ready)")


class ReasonPublic(BaseModel):
    kind: str
    capability: str | None = None
    text: str = Field(description="The reason in English")
    params: dict[str, str | int | list[str]] = Field(
        default_factory=dict, description="What the sentence says, as ids and whole numbers, to "
                                          "say it in another language (matching/reasons.py)")


class SuggestionPublic(BaseModel):
    member: str
    name: str
    score: float
    benefit_to_member: float
    benefit_to_partner: float
    competitor: bool
    overlap: list[str]
    reasons: list[ReasonPublic]
    introduction_path: list[str] | None = None


class SuggestionsPublic(BaseModel):
    member: str
    suggestions: list[SuggestionPublic] = Field(
        description="New partners (no tie yet), each covering something the member wants, in "
                    "the network-aware order")
    strengthen: list[SuggestionPublic] = Field(
        default_factory=list,
        description="Existing partners (a tie, or an accepted suggestion) to do more with")


class PairPublic(BaseModel):
    members: list[str]
    score: float


class PairsPublic(BaseModel):
    network: str
    pairs: list[PairPublic]
    as_of: dict[str, Any] | None = Field(None, description="Version and time of the network "
                                                           "the pairs were computed on")


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member: Identifier
    candidate: Identifier
    decision: Literal["accepted", "declined"]


class FeedbackPublic(BaseModel):
    member: str
    candidate: str
    decision: str
    at: str
    on_behalf: bool = Field(False, description="A facilitator or admin decided for the member")


class StageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Identifier
    label: Text | None = None
    requires: list[Identifier] = Field(min_length=1, max_length=50)
    min_members: int = Field(1, ge=0, le=1000)
    max_members: int = Field(1, ge=1, le=1000)


class ValueChainRequest(BaseModel):
    """Either stages given here or the id of a template stored with the network."""

    model_config = ConfigDict(extra="forbid")
    template: Identifier | None = None
    stages: list[StageRequest] | None = Field(None, min_length=1, max_length=50)
    max_stages_per_member: int = Field(1, ge=1, le=50)


class IntroductionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    requester: Identifier = Field(alias="from")
    recipient: Identifier = Field(alias="to")
    message: LongText | None = None
    suggestion_reasons: list[Text] = Field(default_factory=list, max_length=20)


class IntroductionAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject", "accept", "decline", "cancel"]
    note: LongText | None = None


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Identifier | None = None
    title: Text
    kind: ProjectKind = ProjectKind.OTHER
    members: list[Participant] = Field(min_length=1, max_length=10_000)
    lead: Identifier | None = None
    goal: LongText | None = None
    source: FreeJson | None = None


class ProjectMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: ProjectPhase
    reason: LongText | None = None


class OutcomesUpdate(Outcomes):
    pass


class AgentsReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: list[Agent] = Field(max_length=10_000)


class ConsortiumRequest(BaseModel):
    """An order too big for one firm: what it asks, a month, and who leads it."""

    model_config = ConfigDict(extra="forbid")
    lead: Identifier | None = None
    requirements: list[OrderRequirement] = Field(min_length=1, max_length=50)
    competitors: CompetitorPolicy = CompetitorPolicy.PENALISE
    max_members: int | None = Field(None, ge=1, le=1000)


class ConsortiumProjectRequest(ConsortiumRequest):
    choice: int = Field(0, ge=0, le=2, description="0: the best consortium, 1 or 2: an "
                                                   "alternative")
    title: Text | None = None
    order_id: Identifier | None = Field(None, description="The declared order it answers, if any")


class RivalryVerdictPut(BaseModel):
    """A facilitator's verdict on a pair of members."""

    model_config = ConfigDict(extra="forbid")
    verdict: Literal["rivals", "not_rivals"]
    note: Annotated[LongText, Field(max_length=1000)] | None = None


class RivalryPublic(BaseModel):
    a: str
    b: str
    a_name: str
    b_name: str
    inferred: bool = Field(description="The same market (same sector and region, or a customer "
                                       "segment in common) and a core offer in common")
    shared_core: list[str] = Field(description="The core offers both sell (capability ids)")
    shared_customers: list[str] = Field(description="The customer segments both declare")
    tie: bool = Field(description="A COMPETES_WITH tie between them")
    verdict: Literal["confirmed", "rejected"] | None
    note: str | None = None
    rivals: bool = Field(description="Whether the engine treats them as rivals")


class RivalriesPublic(BaseModel):
    network: str
    count: int = Field(description="Every pair listed, across all pages")
    offset: int
    limit: int
    rivalries: list[RivalryPublic]
