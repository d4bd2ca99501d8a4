"""Template filters over the ``entitlements`` context variable, and money.

{% load subscriptions %}
{% if entitlements|has_feature:"live_chat" %}…{% endif %}
{{ entitlements|feature_limit:"departments" }}
{{ amount|money:"JPY" }}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from subscriptions.money import MINOR_UNITS

register = template.Library()

SYMBOLS = {"JPY": "¥", "USD": "$"}


@register.filter
def has_feature(entitlements: Any, code: str) -> bool:
    return bool(entitlements) and entitlements.has(code)


@register.filter
def feature_limit(entitlements: Any, code: str) -> int | None:
    return entitlements.limit(code) if entitlements else 0


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """¥12,000 / $140.00, grouped for the active locale."""
    if amount is None:
        return ""
    places = MINOR_UNITS.get(currency, 2)
    figure = number_format(Decimal(amount), decimal_pos=places, force_grouping=True)
    return f"{SYMBOLS.get(currency, currency + ' ')}{figure}"
