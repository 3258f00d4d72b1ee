"""A suggestion's reasons in the reader's language, from the kind and params that
``matching/reasons.py`` gives each one (its English ``text`` stays for the API).

Capabilities are named by their label in the reader's language, members by their names; a
reason without params (or of a kind this module does not know) is shown as its English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.web.i18n import gettext as _
from api.web.i18n import ngettext
from api.web.labels import Labels


def _offer(p: Mapping[str, Any], about: str, labels: Labels) -> str:
    """The offered capability at its level, and how it answers ``about`` when not the same."""
    values = {"offered": labels[p["offered"]].text, "level": p["level"],
              "about": labels[p[about]].text}
    if p["relation"] == "serves":
        return _("%(offered)s (level %(level)s), which serves %(about)s") % values
    if p["relation"] == "close":
        return _("%(offered)s (level %(level)s), close to %(about)s") % values
    return _("%(offered)s (level %(level)s)") % values


def say(reason: Mapping[str, Any], labels: Labels, names: Mapping[str, str],
        member: str | None = None) -> str:
    """One reason as a sentence in the reader's language: to the member ("you"), or about
    ``member`` (its name) for a facilitator or an admin reading its page on its behalf."""
    p = reason.get("params") or {}
    try:
        if member is not None:
            return _about(reason["kind"], p, labels, names, member)
        return _sentence(reason["kind"], p, labels, names)
    except (KeyError, TypeError):
        return str(reason.get("text", ""))


def _about(kind: str, p: Mapping[str, Any], labels: Labels, names: Mapping[str, str],
           member: str) -> str:
    """:func:`_sentence` about ``member``, for a reader who is not the member."""
    def name(mid: str) -> str:
        return names.get(mid, mid)

    if kind == "covers_need":
        text = (_("%(partner)s offers %(offer)s, which %(member)s needs urgently "
                  "(%(urgency)s/5)") if p["urgency"] >= 4 else
                _("%(partner)s offers %(offer)s, which %(member)s needs (%(urgency)s/5)"))
        return text % {"partner": name(p["partner"]), "offer": _offer(p, "need", labels),
                       "urgency": p["urgency"], "member": member}
    if kind == "covers_weakness":
        return _("%(partner)s is strong in %(offer)s, where %(member)s is weak (severity "
                 "%(severity)s/5)") % {"partner": name(p["partner"]), "member": member,
                                       "offer": _offer(p, "weakness", labels),
                                       "severity": p["severity"]}
    if kind == "partner_needs":
        return _("%(member)s offers %(offer)s, which %(partner)s needs (%(urgency)s/5)") % {
            "offer": _offer(p, "need", labels), "partner": name(p["partner"]),
            "urgency": p["urgency"], "member": member}
    if kind == "competitor":
        overlap = ", ".join(labels[c].text for c in p["overlap"]) or _("the same market")
        text = (_("%(partner)s is a rival of %(member)s (they compete directly: %(overlap)s); "
                  "suggested for non-core cooperation, on what lies outside both core "
                  "businesses")
                if p["direct"] else
                _("%(partner)s is a rival of %(member)s (they sell a core offer to one market: "
                  "%(overlap)s); suggested for non-core cooperation, on what lies outside "
                  "both core businesses"))
        return text % {"partner": name(p["partner"]), "overlap": overlap, "member": member}
    if kind == "tie":
        return _("%(member)s already works with %(partner)s") % {
            "partner": name(p["partner"]), "member": member}
    if kind == "common":
        return ngettext("%(member)s has %(num)d partner in common with them",
                        "%(member)s has %(num)d partners in common with them",
                        p["count"]) % {"num": p["count"], "member": member}
    if kind == "intro" and p["steps"] == 1:
        return _("%(via)s knows both and can introduce them") % {"via": name(p["via"])}
    return _sentence(kind, p, labels, names)  # (no "you" in it)


def _sentence(kind: str, p: Mapping[str, Any], labels: Labels, names: Mapping[str, str]
              ) -> str:
    def name(mid: str) -> str:
        return names.get(mid, mid)

    if kind == "covers_need":
        text = (_("%(partner)s offers %(offer)s, which you need urgently (%(urgency)s/5)")
                if p["urgency"] >= 4 else
                _("%(partner)s offers %(offer)s, which you need (%(urgency)s/5)"))
        return text % {"partner": name(p["partner"]), "offer": _offer(p, "need", labels),
                       "urgency": p["urgency"]}
    if kind == "covers_weakness":
        return _("%(partner)s is strong in %(offer)s, where you are weak (severity "
                 "%(severity)s/5)") % {"partner": name(p["partner"]),
                                       "offer": _offer(p, "weakness", labels),
                                       "severity": p["severity"]}
    if kind == "partner_needs":
        return _("You offer %(offer)s, which %(partner)s needs (%(urgency)s/5)") % {
            "offer": _offer(p, "need", labels), "partner": name(p["partner"]),
            "urgency": p["urgency"]}
    if kind == "competitor":
        overlap = ", ".join(labels[c].text for c in p["overlap"]) or _("the same market")
        text = (_("%(partner)s is a rival (you compete directly: %(overlap)s); suggested for "
                  "non-core cooperation, on what lies outside both your core businesses")
                if p["direct"] else
                _("%(partner)s is a rival (you sell a core offer to one market: "
                  "%(overlap)s); suggested for non-core cooperation, on what lies outside "
                  "both your core businesses"))
        return text % {"partner": name(p["partner"]), "overlap": overlap}
    if kind == "tie":
        return _("You already work with %(partner)s") % {"partner": name(p["partner"])}
    if kind == "common":
        return ngettext("You have %(num)d partner in common",
                        "You have %(num)d partners in common", p["count"]) % {"num": p["count"]}
    if kind == "intro":
        if p["steps"] == 1:
            return _("%(via)s knows both of you and can introduce you") % {"via": name(p["via"])}
        return ngettext("%(via)s can start an introduction (%(num)d step)",
                        "%(via)s can start an introduction (%(num)d steps)", p["steps"]) % {
            "via": name(p["via"]), "num": p["steps"]}
    if kind == "in_demand":
        return _("%(partner)s is asked by %(askers)s members for what it offers and has room "
                 "to be the first choice of %(quota)s") % {
            "partner": name(p["partner"]), "askers": p["askers"], "quota": p["quota"]}
    raise KeyError(kind)
