"""The words of stored values (need kinds, sizes, phases, agent kinds, units, roles) as people
read them, marked for translation: ``{{ value|word }}`` in a template shows the translation.

A value not listed here (a network's own unit, say) is shown as it is stored."""

from __future__ import annotations

from api.web.i18n import N_
from api.web.i18n import gettext as _

WORDS = {
    # roles
    "admin": N_("admin"), "facilitator": N_("facilitator"), "member": N_("member"),
    "analyst": N_("analyst"),
    # need kinds and capability kinds
    "purchase": N_("purchase"), "service": N_("service"), "knowhow": N_("know-how"),
    "partner": N_("partner"), "product": N_("product"), "certification": N_("certification"),
    "asset": N_("asset"),
    # member sizes
    "micro": N_("micro"), "small": N_("small"), "medium": N_("medium"), "large": N_("large"),
    # project phases and roles in a project
    "opportunity": N_("opportunity"), "shared_goals": N_("shared goals"),
    "design": N_("design"), "implementation": N_("implementation"), "done": N_("done"),
    "abandoned": N_("abandoned"), "lead": N_("lead"), "participant": N_("participant"),
    "buyer": N_("buyer"), "provider": N_("provider"), "user": N_("user"),
    "mentor": N_("mentor"), "trainee": N_("trainee"),
    # project kinds
    "buying_group": N_("buying group"), "shared_service": N_("shared service"),
    "cross_training": N_("cross-training"), "value_chain": N_("value chain"),
    "pair": N_("pair of members"), "consortium": N_("consortium"),
    # outside agents
    "bank": N_("bank"), "savings-bank": N_("savings bank"), "university": N_("university"),
    "research-centre": N_("research centre"), "town-hall": N_("town hall"),
    "regional-government": N_("regional government"),
    "national-agency": N_("national agency"),
    "chamber-of-commerce": N_("chamber of commerce"), "export-agency": N_("export agency"),
    "certification-body": N_("certification body"),
    "health-authority": N_("health authority"),
    "eu-programme-office": N_("EU programme office"), "other": N_("other"),
    # units of the seed taxonomy
    "units": N_("units"), "analyses": N_("analyses"), "beds": N_("beds"),
    "bodies": N_("bodies"), "cycles": N_("cycles"), "hours": N_("hours"), "kg": N_("kg"),
    "meals": N_("meals"), "procedures": N_("procedures"), "studies": N_("studies"),
    "tonnes": N_("tonnes"), "trips": N_("trips"),
    # roadmap step states
    "planned": N_("planned"), "not planned": N_("not planned"), "running": N_("running"),
    # who made a change, as the API words it for members (api.security.issuer_words)
    "your facilitator": N_("your facilitator"), "an administrator": N_("an administrator"),
    "the service": N_("the service"),
}


def word(value: object) -> str:
    """A stored value in the reader's language (as stored when it is not a known word)."""
    if value is None:
        return ""
    text = str(value)
    return _(WORDS[text]) if text in WORDS else text
