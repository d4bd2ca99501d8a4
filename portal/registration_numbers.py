"""Qualified-invoice registration numbers (適格請求書発行事業者登録番号): ``T`` and 13 digits,
the first of them a check digit over the other twelve, as the National Tax Agency computes
it for corporate numbers (法人番号): 9 − (Σ digit × weight mod 9), the digits counted from
the right, weight 1 for odd places and 2 for even ones. Pure: the settings use it too."""

from __future__ import annotations

import re

# A valid number that belongs to nobody: the demo's seller (documented as an example).
EXAMPLE = "T7123456789012"
_SHAPE = re.compile(r"T([0-9])([0-9]{12})")


def check_digit(base: str) -> int:
    """The check digit of the twelve digits ``base``."""
    weighted = sum(
        int(digit) * (1 if place % 2 else 2) for place, digit in enumerate(reversed(base), 1)
    )
    return 9 - weighted % 9


def refusal(value: str) -> str | None:
    """Why ``value`` is not a registration number (its shape, then its check digit), or None."""
    found = _SHAPE.fullmatch(value)
    if found is None:
        return f"“{value}” is not T followed by 13 digits (e.g. {EXAMPLE})."
    if int(found.group(1)) != check_digit(found.group(2)):
        return f"“{value}” has a wrong check digit: it is not a registration number."
    return None
