"""Who makes a change, as every history records it: the actor and the credential behind it.

A facilitator acting on a member's behalf, or anyone acting with a token a facilitator issued,
shows as exactly that: the token's id, who issued it, and for whom it acted. A decision made on a
member's behalf is never taken for the member's own (it does not train the ranker).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Acting:
    by: str  # the member's id, or the role ("facilitator", "admin") of a manager
    role: str
    token: str | None = None  # the id of the token used
    issued_by: str | None = None  # the id of the token that issued it
    issuer_role: str | None = None  # admin, facilitator, invitation (the member's own)
    on_behalf_of: str | None = None  # the member a manager acted for

    def entry(self) -> dict[str, Any]:
        """The fields a history entry carries (no empty ones)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def who(by: str | Acting) -> dict[str, Any]:
    """History fields for ``by``: a plain string (older callers, the system) or an ``Acting``."""
    return by.entry() if isinstance(by, Acting) else {"by": by}


def feedback_credential(by: str | Acting | None) -> dict[str, Any]:
    """The FEEDBACK_ON edge's record of who decided: on behalf or the member's own."""
    if not isinstance(by, Acting):
        return {"token": None, "issued_by": None, "issuer_role": None, "on_behalf": False}
    return {"token": by.token, "issued_by": by.issued_by, "issuer_role": by.issuer_role,
            "on_behalf": by.on_behalf_of is not None}


MANAGER_ROLES = ("facilitator", "admin")
CREDENTIAL_FIELDS = ("token", "issued_by", "issuer_role")


def without_credentials(entry: dict[str, Any]) -> dict[str, Any]:
    """A history entry for readers outside the network's management (analysts' exports): no
    token ids, and a manager named by its role only."""
    shown = {k: v for k, v in entry.items() if k not in CREDENTIAL_FIELDS}
    role = entry.get("role") or str(entry.get("by", "")).split(":", 1)[0]
    if role in MANAGER_ROLES:
        shown["by"] = role
    return shown
