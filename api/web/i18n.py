"""The language of each request, and its gettext catalogue (see ``docs/i18n.md``).

The language is the reader's remembered choice (the ``pm_lang`` cookie, set by the switch in
every page's header) or else the best match of ``Accept-Language``, or English. It depends on
the request alone, never on what is stored, so a translated page is as confidential as the
English one.

Catalogues are the ``.po`` files under ``api/web/locale/<lang>/LC_MESSAGES/messages.po``. They
are compiled in memory with Babel the first time a language is used (about 25 ms), so a
plain ``pip install .`` needs no build step and no compiled ``.mo`` file is kept in git.

Marking strings: in templates ``{{ _("Text %(name)s", name=x) }}`` (new-style gettext: the
result is escaped and formatted by keyword) and ``{% trans count=n %}...{% pluralize %}...
{% endtrans %}``; in Python ``from api.web.i18n import gettext as _`` at request time, and
``N_("...")`` for strings kept in module constants, translated where shown (``_(label)``).
"""

from __future__ import annotations

import contextvars
import gettext as gettext_module
import io
import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES = {"en": "English", "es": "Español"}  # code -> the language's name in itself
COOKIE = "pm_lang"
COOKIE_AGE = 365 * 24 * 3600
DOMAIN = "messages"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (translated where it is shown)."""
    return message


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``language`` (an empty one for the source language)."""
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language not in LANGUAGES or not source.exists():
        return gettext_module.NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def language() -> str:
    """The language of the request being answered."""
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).npgettext(context, singular, plural, n)


def from_accept_language(header: str | None) -> str | None:
    """The first available language in an ``Accept-Language`` header, by quality then order."""
    ranked = []
    for position, item in enumerate((header or "").split(",")):
        match = _RANGE.match(item)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if quality > 0:
            ranked.append((-quality, position, match.group(1).lower()))
    return next((code for _, _, code in sorted(ranked) if code in LANGUAGES), None)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice if it is a language we have, else the browser's, else English."""
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept_language) or DEFAULT


class LanguageMiddleware:
    """Set the request's language before anything answers it, error pages included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies = _cookie(headers.get("cookie", ""), COOKIE)
        token = _current.set(choose(cookies, headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"')
    return None


__all__ = [
    "COOKIE",
    "LANGUAGES",
    "N_",
    "LanguageMiddleware",
    "choose",
    "gettext",
    "language",
    "ngettext",
    "translations",
]
