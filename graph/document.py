"""The import format: one JSON document per network, defined by pydantic models.

Structure (types, ranges, required fields) is checked by the models; references between parts of
the document and the stored taxonomy (unknown ids, duplicates, cycles) by ``graph.validation``.
Both report every problem with its JSON path before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      field_serializer, field_validator)

from matching.workflow import Phase as ProjectPhase

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", min_length=1, max_length=100)
]
# Control characters (and lone surrogates, U+FFFE, U+FFFF) break XML exports and pictures and
# hide text from readers: refused in every text. Long texts may hold tabs and line breaks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_IN_LONG = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _refusing(pattern: re.Pattern[str], what: str, why: str = "") -> AfterValidator:
    """A validator refusing a text where ``pattern`` finds a character: says which and where."""
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            raise ValueError(f"contains the {what} U+{ord(found.group()):04X} at position "
                             f"{found.start()}{why}")
        return value
    return AfterValidator(check)


# Invisible characters that change how a text looks, not what it says: the bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the direction marks (U+200E,
# U+200F, U+061C) and the zero-width space, word joiner and no-break space (U+200B, U+2060,
# U+FEFF). In a name they make one look like another in a list: "Acme" and "Acme" with a mark
# are two names that read the same, and under U+202E a name shows its letters backwards. A name
# gets its direction from its letters without them. Refused in short texts (names, titles,
# labels, sectors, regions, roles); long texts (descriptions, goals, reasons) may mix directions
# in prose and name nothing, so they keep them. Ids allow only ASCII anyway.
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 _refusing(_CONTROL, "control character"),
                 _refusing(_INVISIBLE, "invisible formatting character",
                           ", which can make one name look like another")]
LongText = Annotated[str, StringConstraints(max_length=5000),
                     _refusing(_CONTROL_IN_LONG, "control character")]
Score = Annotated[int, Field(ge=1, le=5)]

MAX_JSON_DEPTH = 8
MAX_JSON_CHARS = 20_000


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON (a project's ``source``) is kept small and shallow: every reader can hold
    it, and answering it never recurses deeply."""

    def depth(node: Any, level: int) -> int:
        """Levels of objects and arrays from ``node`` down (a scalar adds none)."""
        if not isinstance(node, (dict, list)):
            return level - 1
        if level > MAX_JSON_DEPTH:
            return level
        children = node.values() if isinstance(node, dict) else node
        return max((depth(child, level + 1) for child in children), default=level)

    if depth(value, 1) > MAX_JSON_DEPTH:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    # Its strings are stored as written and answered back: a lone surrogate stored there made
    # every later answer holding it (the network's projects, its JSON export) fail to encode.
    for where, text in _strings(value, ""):
        if found := _CONTROL_IN_LONG.search(text):
            raise ValueError(f"contains the control character U+{ord(found.group()):04X} at "
                             f"position {found.start()} of {where}")
    if len(json.dumps(value, ensure_ascii=False)) > MAX_JSON_CHARS:
        raise ValueError(f"is longer than {MAX_JSON_CHARS} characters as JSON")
    return value


def _strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every key and string value in free-form JSON, each with where it is (``a.b[0]``)."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, child in node.items():
            yield f"a key of {where or 'the object'}", str(key)
            yield from _strings(child, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _strings(child, f"{where}[{i}]")


FreeJson = Annotated[dict[str, Any], AfterValidator(_bounded_json)]


class CapabilityKind(StrEnum):
    SERVICE = "service"
    PRODUCT = "product"
    KNOWHOW = "knowhow"
    CERTIFICATION = "certification"
    ASSET = "asset"
    PURCHASE = "purchase"


class NeedKind(StrEnum):
    PURCHASE = "purchase"
    SERVICE = "service"
    KNOWHOW = "knowhow"
    PARTNER = "partner"


class MemberSize(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class TieType(StrEnum):
    COLLABORATES_WITH = "COLLABORATES_WITH"
    COMPETES_WITH = "COMPETES_WITH"
    SUPPLIES = "SUPPLIES"
    TRUSTS = "TRUSTS"


class RivalryVerdict(StrEnum):
    """A facilitator's word on whether two members compete (``matching.rivalry``)."""

    RIVALS = "rivals"
    NOT_RIVALS = "not_rivals"


class AgentKind(StrEnum):
    """Outside organisations a facilitator brings in; they are not members."""

    BANK = "bank"
    SAVINGS_BANK = "savings-bank"
    UNIVERSITY = "university"
    RESEARCH_CENTRE = "research-centre"
    TOWN_HALL = "town-hall"
    REGIONAL_GOVERNMENT = "regional-government"
    NATIONAL_AGENCY = "national-agency"
    CHAMBER_OF_COMMERCE = "chamber-of-commerce"
    EXPORT_AGENCY = "export-agency"
    CERTIFICATION_BODY = "certification-body"
    HEALTH_AUTHORITY = "health-authority"
    EU_PROGRAMME_OFFICE = "eu-programme-office"
    OTHER = "other"


class CompetitorPolicy(StrEnum):
    INCLUDE = "include"
    PENALISE = "penalise"
    EXCLUDE = "exclude"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class Capability(_Strict):
    """A node of the shared taxonomy; ``broader`` names its parent, ``serves`` the capabilities
    it can serve in another branch (a certification or know-how -> the service it enables)."""

    id: Identifier
    label: Text
    label_es: Text | None = None  # the Spanish label shown to Spanish readers (docs/i18n.md)
    kind: CapabilityKind | None = None
    broader: Identifier | None = None
    synonyms: list[Text] = Field(default_factory=list, max_length=100)
    unit: Text | None = None  # what capacities are counted in: hours, units, tonnes, beds, ...
    # None: not said (a stored list stays); a list, even empty, replaces the stored one.
    serves: list[Identifier] | None = Field(default=None, max_length=100)


MAX_AMOUNT = 1e12
Quantity = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]
# Money, EUR a year. A trillion is beyond any network's figures, so more is a typo; and bounded
# amounts keep every sum of them (a network's savings, a buying group's spend) finite and
# printable: unbounded, 1e308 stored twice summed to infinity.
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


class CapabilityLevel(_Strict):
    id: Identifier
    level: Score
    capacity: Quantity | None = None  # units a month, in the capability's unit
    # What the member offers as its business; rivals never cooperate on it. When a member marks
    # none, its top offers are its core.
    core: bool | None = None


class Weakness(_Strict):
    id: Identifier
    severity: Score


class Need(_Strict):
    id: Identifier
    kind: NeedKind | None = None
    urgency: Score = 3
    volume: Amount | None = None  # annual spend, EUR


MAX_SEGMENTS = 20
# A customer segment: an identifier, compared without case ("Retail" is "retail").
CustomerSegment = Annotated[Identifier, AfterValidator(str.lower)]


class Member(_Strict):
    id: Identifier
    name: Text
    sector: Text | None = None
    region: Text | None = None
    size: MemberSize | None = None
    description: LongText | None = None
    # The customer segments it sells to (free ids the network agrees on, e.g. "public-hospitals",
    # "retail", "export-latam"): public, like sector and region. Two members with a segment in
    # common are in one market, so a core offer in common makes them rivals (matching.rivalry).
    customers: list[CustomerSegment] | None = Field(default=None, max_length=MAX_SEGMENTS)
    # Confidential until the member accepts an introduction: then shown to that partner only.
    contact: Text | None = None
    # Hours a month the member can give to co-operation; roadmaps and consortia never plan more.
    hours_per_month: Annotated[float, Field(ge=0, le=744, allow_inf_nan=False)] | None = None
    capabilities: list[CapabilityLevel] = Field(default_factory=list, max_length=500)
    weaknesses: list[Weakness] = Field(default_factory=list, max_length=500)
    needs: list[Need] = Field(default_factory=list, max_length=500)

    @field_validator("customers")
    @classmethod
    def _segments(cls, customers: list[str] | None) -> list[str] | None:
        """Sorted, each once; none declared (``[]``) is the same as not given."""
        return sorted(set(customers)) or None if customers is not None else None


class Tie(_Strict):
    source: Identifier
    target: Identifier
    type: TieType
    weight: Quantity | None = None
    since: dt.date | None = None

    @field_serializer("since")
    def _iso(self, value: dt.date | None) -> str | None:
        # Stored as an ISO string: Bolt date values do not round-trip exactly on every server.
        return value.isoformat() if value else None


class ValueChainStage(_Strict):
    id: Identifier
    label: Text | None = None
    requires: list[Identifier] = Field(min_length=1, max_length=50)
    min_members: Annotated[int, Field(ge=0, le=1000)] = 1
    max_members: Annotated[int, Field(ge=1, le=1000)] = 1


class ValueChainTemplate(_Strict):
    """A reusable chain of stages (catch -> processing -> distribution -> export)."""

    id: Identifier
    name: Text
    stages: list[ValueChainStage] = Field(min_length=1, max_length=50)
    max_stages_per_member: Annotated[int, Field(ge=1, le=50)] = 1


class Rivalry(_Strict):
    """A facilitator's verdict on one pair of members: it overrides the inferred rivalry (same
    sector and region, a core offer in common) and any COMPETES_WITH tie. Unordered: ``a`` and
    ``b`` may come either way round; an export lists ``a`` < ``b``."""

    a: Identifier
    b: Identifier
    verdict: RivalryVerdict
    note: Annotated[LongText, StringConstraints(max_length=1000)] | None = None
    at: dt.datetime | None = None  # when it was given


Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class NetworkPolicy(_Strict):
    """How introductions work in a network, how long its access tokens live, and the settings
    of its opportunity analyses: mentees per mentor in cross-training, and the buying groups'
    discount model (the group size for the full discount, and each category's largest rate,
    over the built-in defaults)."""

    approval: Literal["auto", "always", "never"] = "auto"  # auto: rivals or untied pairs
    expiry_days: Annotated[int, Field(ge=1, le=365)] = 14
    suppress_declined_days: Annotated[int, Field(ge=0, le=3650)] = 180
    member_token_days: Annotated[int, Field(ge=1, le=3650)] = 180
    analyst_token_days: Annotated[int, Field(ge=1, le=3650)] = 180
    facilitator_token_days: Annotated[int, Field(ge=1, le=3650)] = 90
    invitation_days: Annotated[int, Field(ge=1, le=90)] = 14
    training_capacity: Annotated[int, Field(ge=1, le=100)] = 3
    full_at_members: Annotated[int, Field(ge=2, le=1000)] = 10
    discounts: dict[Identifier, Rate] = Field(default_factory=dict, max_length=500)


class Agent(_Strict):
    """An outside organisation the facilitator can bring in: a bank, a university, a town hall...
    Not a member: it gets no suggestions and holds no weaknesses."""

    id: Identifier
    name: Text
    kind: AgentKind = AgentKind.OTHER
    region: Text | None = None
    description: LongText | None = None
    contact: Text | None = None  # an organisation's public desk, shown to the network
    offers: list[Identifier] = Field(default_factory=list, max_length=100)  # capability ids

    @field_validator("offers")
    @classmethod
    def _sorted(cls, offers: list[str]) -> list[str]:
        # A set of capabilities: stored as edges, read back sorted, so kept sorted here too.
        return sorted(offers)


class OrderRequirement(_Strict):
    capability: Identifier
    quantity: Quantity  # units a month, in the capability's unit
    min_level: Score = 3


class DeclaredOrder(_Strict):
    """A big order declared to the network, for which a consortium may be formed."""

    id: Identifier
    title: Text
    lead: Identifier | None = None
    requirements: list[OrderRequirement] = Field(min_length=1, max_length=50)
    competitors: CompetitorPolicy = CompetitorPolicy.PENALISE
    max_members: Annotated[int, Field(ge=1, le=1000)] | None = None
    value: Amount | None = None  # EUR a year


class Network(_Strict):
    id: Identifier
    name: Text
    sector: Text | None = None
    region: Text | None = None
    description: LongText | None = None
    policy: NetworkPolicy | None = None


class ProjectKind(StrEnum):
    BUYING_GROUP = "buying_group"
    SHARED_SERVICE = "shared_service"
    CROSS_TRAINING = "cross_training"
    VALUE_CHAIN = "value_chain"
    PAIR = "pair"
    CONSORTIUM = "consortium"
    OTHER = "other"


class Participant(_Strict):
    member: Identifier
    role: Text = "partner"


class Outcomes(_Strict):
    expected_saving: Amount | None = None  # EUR/year
    realised_saving: Amount | None = None  # EUR/year
    new_business: Amount | None = None  # EUR/year
    certifications: list[Text] = Field(default_factory=list, max_length=100)
    trainings: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class PhaseChange(_Strict):
    at: dt.datetime
    phase: ProjectPhase
    by: Text
    reason: LongText | None = None
    # The credential behind the change (see graph.acting): kept through export and import.
    role: Text | None = None
    token: Text | None = None
    issued_by: Text | None = None
    issuer_role: Text | None = None
    on_behalf_of: Text | None = None


class Project(_Strict):
    """A collaboration project and where it stands."""

    id: Identifier
    title: Text
    kind: ProjectKind = ProjectKind.OTHER
    # A project keeps its record when its members leave the network: it may end up with none.
    members: list[Participant] = Field(max_length=10_000)
    lead: Identifier | None = None
    goal: LongText | None = None
    source: FreeJson | None = None  # the opportunity it came from
    phase: ProjectPhase = ProjectPhase.OPPORTUNITY
    outcomes: Outcomes = Field(default_factory=Outcomes)
    history: list[PhaseChange] = Field(default_factory=list)


class NetworkDocument(_Strict):
    """One network: its members, their capabilities, weaknesses and needs, and their ties."""

    network: Network
    capabilities: list[Capability] = Field(default_factory=list)
    members: list[Member] = Field(default_factory=list)
    ties: list[Tie] = Field(default_factory=list)
    value_chains: list[ValueChainTemplate] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list, max_length=10_000)
    orders: list[DeclaredOrder] = Field(default_factory=list, max_length=1000)
    # Facilitators' data: exported only to facilitators and admins (docs/security.md).
    rivalries: list[Rivalry] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        if not data["rivalries"]:  # written only where there are some: older readers match
            del data["rivalries"]
        return data


class TaxonomyDocument(_Strict):
    """The shared taxonomy (``seed_data/taxonomy.json``): capabilities only."""

    capabilities: list[Capability]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a network document, generated from the models."""
    schema = NetworkDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "partnermatch network document"
    return schema
