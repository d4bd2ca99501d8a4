"""The audit log in pages: an action's code (``plan.changed``) in words."""

from __future__ import annotations

from django import template

from audit.services import action_label as label_of

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """The action in words, as the audit list names it."""
    return label_of(action)
