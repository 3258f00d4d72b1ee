"""Validation problems in plain words, in the reader's language.

The graph package describes a problem in English for the API (``Input should be less than or
equal to 5 (got 7)``); a page shows it as a person would say it (``At most 5 (you typed 7).``)
through the catalogues. A message that no pattern knows is shown as the API words it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from api.web.i18n import gettext as _
from api.web.vocabulary import word

_GOT = r"(?: \(got (?P<got>.*)\))?"


def _typed(text: str, got: str | None) -> str:
    """``text`` followed by what was typed, when the problem says."""
    if not got:
        return text
    return _("%(problem)s You typed %(typed)s.") % {"problem": text, "typed": got}


def _choices(listed: str) -> str:
    return ", ".join(word(c) for c in re.findall(r"'([^']*)'", listed))


PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"is required but missing"), lambda m: _("This is required.")),
    (re.compile(r"Input should be less than or equal to (?P<n>[-\d.e+]+)" + _GOT),
     lambda m: _typed(_("At most %(limit)s.") % {"limit": m["n"]}, m["got"])),
    (re.compile(r"Input should be less than (?P<n>[-\d.e+]+)" + _GOT),
     lambda m: _typed(_("Less than %(limit)s.") % {"limit": m["n"]}, m["got"])),
    (re.compile(r"Input should be greater than or equal to (?P<n>[-\d.e+]+)" + _GOT),
     lambda m: _typed(_("At least %(limit)s.") % {"limit": m["n"]}, m["got"])),
    (re.compile(r"Input should be greater than (?P<n>[-\d.e+]+)" + _GOT),
     lambda m: _typed(_("More than %(limit)s.") % {"limit": m["n"]}, m["got"])),
    (re.compile(r"Input should be a valid integer.*?" + _GOT + "$"),
     lambda m: _typed(_("A whole number, please."), m["got"])),
    (re.compile(r"Input should be a (?:valid|finite) number.*?" + _GOT + "$"),
     lambda m: _typed(_("A number, please."), m["got"])),
    (re.compile(r"String should have at least 1 character" + _GOT),
     lambda m: _("This cannot be empty.")),
    (re.compile(r"String should have at most (?P<n>\d+) characters?" + _GOT),
     lambda m: _("At most %(limit)s characters.") % {"limit": m["n"]}),
    (re.compile(r"String should match pattern" + ".*"),
     lambda m: _("Use letters, digits and - _ . : only, starting with a letter or digit.")),
    (re.compile(r"Input should be (?P<choices>'.*')" + _GOT),
     lambda m: _typed(_("Choose one of: %(choices)s.") % {"choices": _choices(m["choices"])},
                      m["got"])),
    (re.compile(r"unknown capability (?P<id>\S+)(?: \(not in the taxonomy.*)?"),
     lambda m: _("Unknown capability %(id)s: choose one from the list.") % {"id": m["id"]}),
    (re.compile(r"capability (?P<id>.*?) is listed twice.*"),
     lambda m: _("Capability %(id)s is listed twice: keep one row.") % {"id": m["id"]}),
    (re.compile(r"this token is not valid for network (?P<nid>.*)"),
     lambda m: _("Your access is not valid for the network %(network)s.") % {"network": m["nid"]}),
    (re.compile(r"only the network's facilitators and admins may do this.*"),
     lambda m: _("Only the network's facilitators and admins may open this page.")),
    (re.compile(r"the role (?P<role>\w+) may not do this"),
     lambda m: _("As %(role)s you may not open this page.") % {"role": word(m["role"])}),
    (re.compile(r"Value error, contains the control character (?P<c>U\+[0-9A-F]+).*"),
     lambda m: _("Contains an invisible control character (%(char)s): remove it.")
     % {"char": m["c"]}),
]


def plain(message: str) -> str:
    """``message`` (a problem as the API words it) in plain words of the reader's language."""
    for pattern, say in PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return say(match)
    return message
