"""Numbers in forms as the reader writes them, in the page's language.

A Spanish page shows 14.250 EUR, so a Spanish reader types a saving of nine thousand five
hundred euros as "9.500" and a half as "2,5"; read as Python reads numbers, "9.500" was 9.5
EUR, stored without a word. Numbers are read in the reader's language first (Babel's strict
parser, which refuses a grouping it does not recognise), then as Python reads them, so "2.5"
typed on a Spanish page is still two and a half; form fields show numbers back with the
language's decimal sign and no grouping, so that what is shown reads back the same."""

from __future__ import annotations

import decimal
import math
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal

from api.web import i18n

_SHOWN = "0." + "#" * 15  # every significant decimal of a float, no grouping


def shown(value: Any) -> str:
    """A number as the reader writes it (6 rather than 6.0; 2,5 in Spanish); text as it is."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer():
            return str(int(value))
        return format_decimal(value, format=_SHOWN, locale=i18n.language())
    return str(value)


def read(text: str, kind: type) -> Any:
    """``text`` as an int or a float (``kind``) as the reader wrote it, or the text itself when
    it is no number (the validator then names the field and says what is wrong)."""
    text = text.strip()
    if kind is int:
        try:
            return int(text)
        except ValueError:
            pass
    try:
        local = parse_decimal(text, locale=i18n.language(), strict=True)
    except (NumberFormatError, ValueError, ArithmeticError):
        local = None
    if local is not None and local.is_finite():
        if kind is int:
            return int(local) if local == local.to_integral_value() else text
        return float(local)
    try:
        return kind(text)
    except ValueError:
        return text
