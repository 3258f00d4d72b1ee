"""Roadmap steps in the reader's language.

``matching.roadmap`` words each step for the API, in English ("Buy fuel together", "keep going
with: ...", "purchase:fuel" for the steps that prepare another). Pages say the same from the
step's kind, its id (which names the capability, order or pair) and its figures, so a Spanish
page reads Spanish and no page shows a step id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.web.i18n import N_, ngettext
from api.web.i18n import gettext as _
from api.web.labels import Labels

INTEGRATION = {  # matching.roadmap.KINDS' depth labels
    "buying_group": N_("joint purchase"), "shared_service": N_("shared service"),
    "cross_training": N_("cross-training"), "pair": N_("pair collaboration"),
    "shared_certification": N_("shared certification"),
    "consortium": N_("consortium for an order"), "value_chain": N_("value chain"),
}


def title(step: Mapping[str, Any], labels: Labels, names: Mapping[str, str],
          orders: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The step's title (a consortium's by its order's title, from the network's ``orders``);
    the API's English one for a kind this module does not know."""
    kind, key = step.get("kind"), str(step.get("id", "")).partition(":")[2]
    if kind == "buying_group":
        return _("Buy %(what)s together") % {"what": labels[key].text.lower()}
    if kind == "shared_service":
        return _("Share %(what)s together") % {"what": labels[key].text}
    if kind == "shared_certification":
        return _("Certify in %(what)s together") % {"what": labels[key].text}
    if kind == "cross_training":
        return _("Cross-training in %(what)s") % {"what": labels[key].text}
    if kind == "consortium":
        order = next((o.get("title") for o in orders or () if o.get("id") == key), None)
        return _("Consortium: %(order)s") % {"order": order or key}
    if kind == "value_chain":
        return _("Value chain: %(name)s") % {"name": key}
    if kind == "pair" and "+" in key:
        a, b = key.split("+", 1)
        return _("%(first)s and %(second)s work together") % {
            "first": names.get(a, a), "second": names.get(b, b)}
    return str(step.get("title", ""))


def integration(step: Mapping[str, Any]) -> str:
    label = INTEGRATION.get(str(step.get("kind")))
    return _(label) if label else str(step.get("integration", ""))


def prepared_by(step: Mapping[str, Any], steps: Sequence[Mapping[str, Any]],
                labels: Labels, names: Mapping[str, str],
                orders: Sequence[Mapping[str, Any]] | None = None) -> list[str]:
    """The steps that prepare this one, by their number and title (not their ids)."""
    by_id = {s["id"]: s for s in steps}
    return [_("#%(number)s %(title)s") % {"number": by_id[i]["order"],
                                          "title": title(by_id[i], labels, names, orders)}
            if i in by_id else title({"id": i, "kind": _KIND_OF_PREFIX.get(i.split(":")[0])},
                                     labels, names, orders) or i
            for i in step.get("prepared_by", [])]


_KIND_OF_PREFIX = {"purchase": "buying_group", "shared-service": "shared_service",
                   "shared-certification": "shared_certification", "training": "cross_training",
                   "consortium": "consortium", "value-chain": "value_chain", "pair": "pair"}


def summary(steps: Sequence[Mapping[str, Any]]) -> str:
    """What the roadmap plans, as ``matching.roadmap._summary`` says it in English."""
    live = [s for s in steps if s.get("status") == "planned" and s.get("start_month")]
    if not live:
        return _("Nothing to plan yet.")
    months = max(s["start_month"] + s["months"] - 1 for s in live)
    running = sum(1 for s in steps if s.get("status") == "running")
    waiting = sum(1 for s in steps if s.get("status") == "not planned")
    text = ngettext("%(num)d step planned over %(months)s months: joint purchases first, "
                    "deeper co-operation once they have built ties.",
                    "%(num)d steps planned over %(months)s months: joint purchases first, "
                    "deeper co-operation once they have built ties.", len(live)) \
        % {"num": len(live), "months": months}
    if running:
        text += " " + ngettext("%(num)d already running.", "%(num)d already running.",
                               running) % {"num": running}
    if waiting:
        text += " " + ngettext("%(num)d not planned for lack of members' time.",
                               "%(num)d not planned for lack of members' time.",
                               waiting) % {"num": waiting}
    return text


def first_step(first: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], labels: Labels,
               names: Mapping[str, str], money: Any,
               orders: Sequence[Mapping[str, Any]] | None = None) -> str:
    """A member's first step in a sentence: what, about how much a year, with how many firms."""
    step = next((s for s in steps if s["id"] == first.get("step")), None)
    if step is None or "firms" not in first:
        return str(first.get("text", ""))
    what = title(step, labels, names, orders)
    words = {"step": what[:1].lower() + what[1:] if step["kind"] != "pair" else what,
             "amount": money(first["benefit_eur"]) if first.get("benefit_eur") else None,
             "num": first["firms"], "known": first["known"]}
    running = first.get("status") == "running"
    if words["amount"]:
        said = (_("Keep going with: %(step)s, about %(amount)s a year")
                if running else _("Join: %(step)s, about %(amount)s a year")) % words
    else:
        said = (_("Keep going with: %(step)s") if running else _("Join: %(step)s")) % words
    return said + ", " + ngettext("with %(num)d firm, %(known)d of which you already know",
                                  "with %(num)d firms, %(known)d of which you already know",
                                  first["firms"]) % words
