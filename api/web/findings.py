"""The network's figures and opportunities in the reader's language.

``matching.metrics`` and ``matching.pooling`` explain each result with an English sentence (the
API's ``reasons``/``reason``). Pages say the same from the result's own fields, so a Spanish
dashboard or exports page reads Spanish; a sentence this module does not know is shown as the
API words it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from babel.numbers import format_decimal, format_percent

from api.web import i18n
from api.web.i18n import gettext as _
from api.web.i18n import ngettext
from api.web.labels import Labels
from api.web.vocabulary import word


def _pct(share: float) -> str:
    return format_percent(share, format="#,##0%", locale=i18n.language())


def _decimal(value: float, pattern: str = "0.00") -> str:
    return format_decimal(value, format=pattern, locale=i18n.language())


def health(figures: Mapping[str, Any]) -> list[str]:
    """``matching.metrics._reasons`` in the reader's language (its date-range lines, which
    follow, as the API words them)."""
    try:
        return _health(figures)
    except KeyError:  # figures of another shape: as the API words them
        return list(figures.get("reasons", []))


def _health(figures: Mapping[str, Any]) -> list[str]:
    said = [ngettext("%(members)s members joined by %(ties)s ties (density %(density)s, "
                     "%(num)d connected component)",
                     "%(members)s members joined by %(ties)s ties (density %(density)s, "
                     "%(num)d connected components)", figures["components"])
            % {"num": figures["components"], "ties": figures["ties"],
               "density": _decimal(figures["density"]), "members": figures["members"]}]
    if figures.get("isolated"):
        alone = len(figures["isolated"])
        said.append(ngettext("%(num)d member has no tie at all",
                             "%(num)d members have no tie at all", alone) % {"num": alone})
    if figures.get("communities"):
        groups = figures["communities"]
        said.append(ngettext("%(num)d group of working ties (sizes %(sizes)s)",
                             "%(num)d groups of working ties (sizes %(sizes)s)", len(groups))
                    % {"num": len(groups), "sizes": ", ".join(str(len(c)) for c in groups)})
    comp = figures["competition"]
    said.append(ngettext("%(num)d pair of members compete (declared, inferred from a core offer "
                         "in one market, or confirmed), involving %(members)s of members; "
                         "%(ties)s of ties say so",
                         "%(num)d pairs of members compete (declared, inferred from a core "
                         "offer in one market, or confirmed), involving %(members)s of members; "
                         "%(ties)s of ties say so", comp["pairs"])
                % {"num": comp["pairs"], "members": _pct(comp["member_share"]),
                   "ties": _pct(comp["tie_share"])})
    if figures.get("suggestion_share") is not None:
        said.append(_("%(share)s of members have at least one partner suggestion scoring above "
                      "%(threshold)s") % {"share": _pct(figures["suggestion_share"]),
                                           "threshold": _decimal(figures["threshold"], "0.##")})
    return said + list(figures.get("reasons", []))[len(said):]


def buying_group(group: Mapping[str, Any], labels: Labels, names: Mapping[str, str],
                 money: Callable[[float], str]) -> str:
    """``matching.pooling.purchasing_groups``' reason for one group."""
    lead = group["lead"]
    said = ngettext("%(num)d member buys %(what)s (%(total)s a year together); pooled, a "
                    "%(rate)s discount saves about %(saving)s. %(lead)s buys most and would "
                    "lead the negotiation",
                    "%(num)d members buy %(what)s (%(total)s a year together); pooled, a "
                    "%(rate)s discount saves about %(saving)s. %(lead)s buys most and would "
                    "lead the negotiation", len(group["members"])) % {
        "num": len(group["members"]), "what": labels[group["category"]].text,
        "total": money(group["total_volume"]),
        "rate": format_percent(group["discount_rate"], format="#,##0.0%",
                               locale=i18n.language()),
        "saving": money(group["estimated_saving"]), "lead": names.get(lead, lead)}
    unknown = sum(1 for v in (group.get("volumes") or {}).values() if not v)
    if unknown:
        said += "; " + ngettext("%(num)d member gave no volume yet",
                                "%(num)d members gave no volume yet", unknown) % {"num": unknown}
    return said


def shared_service(service: Mapping[str, Any], labels: Labels,
                   names: Mapping[str, str]) -> str:
    """``matching.pooling.shared_services``' reason for one service."""
    words = {"num": len(service["members"]), "what": labels[service["capability"]].text}
    provider = service.get("provider")
    if provider:
        said = ngettext("%(num)d member needs %(what)s; %(provider)s offers it and could serve "
                        "them all", "%(num)d members need %(what)s; %(provider)s offers it and "
                        "could serve them all", words["num"]) \
            % {**words, "provider": names.get(provider, provider)}
    else:
        said = ngettext("%(num)d member needs %(what)s and nobody in the network offers it at "
                        "level 4 or more: hire it once from outside and share it",
                        "%(num)d members need %(what)s and nobody in the network offers it at "
                        "level 4 or more: hire it once from outside and share it",
                        words["num"]) % words
    return said


def leader_reasons(leader: Mapping[str, Any]) -> list[str]:
    """A natural leader's reasons in the reader's language, said from its ``facts``
    (``matching.leaders``); a fact of a kind this module does not know is shown as the API
    words it (its sentence at the same place in ``reasons``)."""
    reasons = list(leader.get("reasons", []))
    facts = leader.get("facts")
    if not facts or len(facts) != len(reasons):  # (a result of another shape)
        return reasons
    return [_LEADER_FACTS[f["kind"]](f) if f.get("kind") in _LEADER_FACTS else said
            for f, said in zip(facts, reasons)]


def unmet_reason(row: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Why a weakness has no mentor inside (``matching.cross_training``'s ``unmet`` row), in the
    reader's language, said from the row's fields (``names``: member id -> name); as the API
    words it for a row without them."""
    if "able" not in row:
        return str(row.get("reason", ""))
    able = [names.get(m, m) for m in row["able"]]
    if able:
        shown = ", ".join(able[:5])
        if len(able) > 5:
            shown = _("%(names)s and %(num)s more") % {"names": shown, "num": len(able) - 5}
        said = _("the members able to train it (%(names)s) have no place left (at most "
                 "%(num)s mentees each); look for outside training.") % {
            "names": shown, "num": row["capacity"]}
    else:
        said = _("no member is at level %(level)s or above in it or a close capability; look "
                 "for outside training.") % {"level": row["min_level"]}
    agents = row.get("agents") or []
    if agents:
        said += " " + _("Outside: %(agents)s.") % {"agents": ", ".join(
            f"{a['name']} ({word(a['kind'])})" for a in agents)}
    return said


def _trusted(fact: Mapping[str, Any]) -> str:
    n = fact["members"]
    return (ngettext("Trusted by %(num)d member (the most in the network)",
                     "Trusted by %(num)d members (the most in the network)", n) if fact["most"]
            else ngettext("Trusted by %(num)d member", "Trusted by %(num)d members", n)
            ) % {"num": n}


def _bridge(fact: Mapping[str, Any]) -> str:
    value = _decimal(fact["betweenness"])
    if fact["rank"] == 1:
        return _("Bridges otherwise separate groups (betweenness %(value)s, the highest in the "
                 "network)") % {"value": value}
    return _("Bridges otherwise separate groups (betweenness %(value)s, number %(rank)s in the "
             "network)") % {"value": value, "rank": fact["rank"]}


_LEADER_FACTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "trusted": _trusted,
    "bridge": _bridge,
    "contacts": lambda f: ngettext("Trusted or collaborative ties with %(num)d member",
                                   "Trusted or collaborative ties with %(num)d members",
                                   f["members"]) % {"num": f["members"]},
    "broker": lambda f: _("Its contacts barely know one another (effective size %(size)s of "
                          "%(num)s): it can introduce them")
    % {"size": _decimal(f["effective_size"], "0.0"), "num": f["contacts"]},
    "certified": lambda f: _("Certified: %(what)s") % {"what": ", ".join(f["certifications"])},
    "strong": lambda f: ngettext("Strong in %(num)d capability at level %(level)s-5",
                                 "Strong in %(num)d capabilities at level %(level)s-5",
                                 f["capabilities"])
    % {"num": f["capabilities"], "level": f["level"]},
}
