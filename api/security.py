"""Who is asking, and what each role may see and do.

| role        | scope            | may                                                          |
|-------------|------------------|--------------------------------------------------------------|
| admin       | everything       | everything                                                   |
| facilitator | one network      | read and write everything in it, weaknesses included         |
| member      | one member       | its own full profile; others' public profiles; edit itself  |
| analyst     | one network      | read-only: members' public profiles, exports, metrics        |

A member's weaknesses are confidential to the member, its network's facilitators and admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import HTTPException, status

from graph.acting import Acting
from matching.workflow import Actor


class Role(StrEnum):
    ADMIN = "admin"
    FACILITATOR = "facilitator"
    MEMBER = "member"
    ANALYST = "analyst"


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: Role
    network: str | None = None
    member: str | None = None
    issued_by: str | None = None  # the token that issued this one
    issuer_role: str | None = None  # admin, facilitator, or "invitation" (the member's own)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def in_network(self, nid: str) -> bool:
        return self.is_admin or self.network == nid

    def manages(self, nid: str) -> bool:
        """Admins, and facilitators of ``nid``: full read and write in the network."""
        return self.is_admin or (self.role is Role.FACILITATOR and self.network == nid)

    def is_member(self, nid: str, mid: str) -> bool:
        return self.role is Role.MEMBER and self.network == nid and self.member == mid

    def sees_weaknesses_of(self, nid: str, mid: str) -> bool:
        return self.manages(nid) or self.is_member(nid, mid)


def forbidden(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)


def require_network(principal: Principal, nid: str) -> None:
    if not principal.in_network(nid):
        raise forbidden(f"this token is not valid for network {nid!r}")


def require_manager(principal: Principal, nid: str) -> None:
    require_network(principal, nid)
    if not principal.manages(nid):
        raise forbidden(f"only the network's facilitators and admins may do this (you are "
                        f"{principal.role})")


def require_roles(principal: Principal, nid: str, *roles: Role) -> None:
    require_network(principal, nid)
    if not principal.is_admin and principal.role not in roles:
        raise forbidden(f"the role {principal.role} may not do this")


def require_member_or_manager(principal: Principal, nid: str) -> None:
    """Members of ``nid`` (which one is the route's finer rule), its facilitators and admins."""
    require_roles(principal, nid, Role.MEMBER, Role.FACILITATOR)


def member_view(principal: Principal, nid: str, member: dict[str, Any],
                revealed: set[str] = frozenset()) -> dict[str, Any]:
    """The member as this principal may see it.

    Weaknesses: only the member itself and its managers. Contact details: those too, and a
    member with whom it accepted an introduction (``revealed``).
    """
    if principal.sees_weaknesses_of(nid, member["id"]):
        return member
    hidden = {"weaknesses"}
    if not (principal.role is Role.MEMBER and member["id"] in revealed):
        hidden.add("contact")
    return {k: v for k, v in member.items() if k not in hidden}


def actor_for(principal: Principal, nid: str, *, requester: str | None = None,
              recipient: str | None = None, lead: str | None = None) -> Actor:
    """The principal's part in an introduction or project."""
    if principal.manages(nid):
        return Actor.MANAGER
    if principal.role is Role.MEMBER and principal.network == nid:
        for actor, mid in ((Actor.REQUESTER, requester), (Actor.RECIPIENT, recipient),
                           (Actor.LEAD, lead)):
            if mid is not None and principal.member == mid:
                return actor
    return Actor.OTHER


def acting(principal: Principal, for_member: str | None = None) -> Acting:
    """The principal as histories record it; ``for_member``: the member whose decision or profile
    this is (a manager acting there acts on its behalf)."""
    on_behalf = for_member if for_member is not None and principal.member != for_member else None
    return Acting(by=principal.member or principal.role.value, role=principal.role.value,
                  token=principal.token_id, issued_by=principal.issued_by,
                  issuer_role=principal.issuer_role, on_behalf_of=on_behalf)


_ROLE_WORDS = {"facilitator": "your facilitator", "admin": "an administrator",
               "system": "the service"}


def issuer_words(issuer_role: str | None, principal: Principal) -> str:
    """Who issued a credential, in words a member understands (no token ids)."""
    if issuer_role == "invitation":
        return "your invitation" if principal.role is Role.MEMBER else "the member's invitation"
    if issuer_role == "facilitator" and principal.is_admin:
        return "a facilitator"
    return _ROLE_WORDS.get(issuer_role or "system", issuer_role or "the service")


def history_view(principal: Principal, nid: str, entries: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """A history as ``principal`` may read it: managers see every credential; members and
    analysts see role words ("your facilitator") instead of facilitators' and admins' token ids,
    and whether a token a facilitator issued was used."""
    if principal.manages(nid):
        return entries
    shown = []
    for entry in entries:
        by = str(entry.get("by", ""))
        role = entry.get("role") or by.split(":", 1)[0]  # older entries: "facilitator:<token>"
        view = {k: v for k, v in entry.items()
                if k not in ("by", "role", "token", "issued_by", "issuer_role")}
        view["by"] = _ROLE_WORDS.get(role, by) if role in _ROLE_WORDS else by
        if entry.get("issuer_role"):
            view["credential_issued_by"] = issuer_words(entry["issuer_role"], principal)
        shown.append(view)
    return shown
