"""Template filters over the ``entitlements`` context variable, and money.

{% load subscriptions %}
{% if entitlements|has_feature:"live_chat" %}…{% endif %}
{{ entitlements|feature_limit:"departments" }}
{{ amount|money:"JPY" }}
{% activity_text event plan_names %}  (an audit event of the Store's activity, in words)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import Action
from subscriptions.invoicing import TAX_RATES, totals
from subscriptions.models import BillingCycle, ChangeKind, PlanChange, RefundStatus, ScheduledChange
from subscriptions.money import CURRENCIES

register = template.Library()


@register.filter
def has_feature(entitlements: Any, code: str) -> bool:
    return bool(entitlements) and entitlements.has(code)


@register.filter
def feature_limit(entitlements: Any, code: str) -> int | None:
    return entitlements.limit(code) if entitlements else 0


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """¥12,000 / $140.00, grouped for the active locale; money going back with a minus sign
    before the symbol (−¥32,516, never ¥-32,516)."""
    if amount is None:
        return ""
    facts = CURRENCIES[currency]
    value = Decimal(amount)
    figure = number_format(abs(value), decimal_pos=facts.minor_units, force_grouping=True)
    sign = "\u2212" if value < 0 else ""
    return f"{sign}{facts.symbol}{figure}"


def move_text(
    kind: str,
    *,
    from_plan: str,
    to_plan: str,
    from_cycle: str,
    to_cycle: str,
    seats_before: int,
    seats_after: int,
) -> str:
    """How a change is named everywhere (history, result page, emails, activity): a seat
    change and a switch of billing cycle are named as such, not as "Professional →
    Professional"."""
    cycles = dict(BillingCycle.choices)
    if kind == ChangeKind.SEATS:
        return _("Seats of the %(plan)s plan: %(before)s → %(after)s") % {
            "plan": to_plan,
            "before": seats_before,
            "after": seats_after,
        }
    if kind == ChangeKind.CYCLE:
        return _("Billing of the %(plan)s plan: %(before)s → %(after)s") % {
            "plan": to_plan,
            "before": str(cycles.get(from_cycle, from_cycle)).lower(),
            "after": str(cycles.get(to_cycle, to_cycle)).lower(),
        }
    return _("%(before)s → %(after)s") % {"before": from_plan, "after": to_plan}


@register.filter
def change_text(change: PlanChange | ScheduledChange) -> str:
    """A plan change (or one scheduled) in words: ``{{ change|change_text }}``."""
    return move_text(
        change.kind,
        from_plan=change.from_plan.name,
        to_plan=change.to_plan.name,
        from_cycle=change.from_cycle,
        to_cycle=change.to_cycle,
        seats_before=change.seats_before,
        seats_after=change.seats_after,
    )


@register.simple_tag
def with_tax(excluding: Decimal, including: Decimal, currency: str) -> str:
    """An amount the customer pays (or paid), tax-exclusive and, beside it, tax-inclusive,
    each labelled (税抜 / 税込); one figure where the currency bears no tax, or for nothing."""
    if TAX_RATES.get(currency, Decimal(0)) == 0 or excluding == including == 0:
        return money(excluding, currency)
    # The shape is the language's: ¥460,800 excl. tax (¥506,880 incl. tax), or in Japanese
    # ¥460,800税抜（¥506,880税込）, with no half-width space or parenthesis.
    shape = _("%(excluding)s %(excl)s (%(including)s %(incl)s)")
    label = '<span class="tax-label">{}</span>'
    return format_html(
        shape.replace("%(excluding)s", "{0}")
        .replace("%(excl)s", label.replace("{}", "{1}"))
        .replace("%(including)s", "{2}")
        .replace("%(incl)s", label.replace("{}", "{3}")),
        money(excluding, currency),
        _("excl. tax"),
        money(including, currency),
        _("incl. tax"),
    )


@register.filter
def priced(amount: Decimal, currency: str) -> str:
    """A price (tax-exclusive, as the catalogue's) with the total its invoice will bill:
    ``{{ bill.amount|priced:bill.currency }}`` → ¥460,800 excl. tax (¥506,880 incl. tax)."""
    return with_tax(amount, totals([amount], currency).total, currency)


@register.filter
def join_numbers(corrects: list[dict[str, str]]) -> str:
    """A return invoice's originals: "INV-2026-000001, INV-2026-000004"."""
    return _(", ").join(str(original.get("number", "")) for original in corrects)


@register.filter
def with_tax_total(amount: Decimal, currency: str) -> str:
    """A price's total with its tax, as its invoice will bill it (plain text)."""
    return money(totals([amount], currency).total, currency)


@register.filter
def negative(amount: Decimal | None) -> Decimal | None:
    """Money going back, as the customer reads it: ``|negative|money`` writes −¥32,516."""
    return None if amount is None else -abs(Decimal(amount))


@register.filter
def tax_percent(rate: Decimal) -> str:
    """0.1000 → "10": a tax rate as the percentage printed on an invoice."""
    return f"{Decimal(rate) * 100:f}".rstrip("0").rstrip(".")


@register.simple_tag
def activity_text(event: AuditEvent, plan_names: dict[str, str]) -> str:
    """A subscription event of the audit log as the Store's activity list words it;
    ``plan_names`` maps plan codes to names (``selectors.catalogue.plan_names``)."""
    before, after = event.before or {}, event.after or {}

    def day(value: Any) -> str:
        """A date the log keeps as ISO text, as the page writes dates."""
        try:
            return date_format(date.fromisoformat(str(value)), "DATE_FORMAT")
        except ValueError:
            return str(value or "")

    def plan(data: dict[str, Any]) -> str:
        code = str(data.get("plan", ""))
        return plan_names.get(code, code)

    texts: dict[str, Callable[[], str]] = {
        Action.PLAN_CHANGED: lambda: (
            _("Plan changed from %(from)s to %(to)s") % {"from": plan(before), "to": plan(after)}
            if after.get("kind") not in (ChangeKind.SEATS, ChangeKind.CYCLE)
            else move_text(
                str(after.get("kind")),
                from_plan=plan(before),
                to_plan=plan(after),
                from_cycle=str(before.get("cycle", "")),
                to_cycle=str(after.get("cycle", "")),
                seats_before=int(before.get("seats") or 0),
                seats_after=int(after.get("seats") or 0),
            )
        ),
        Action.FEEDBACK_SHARED: lambda: _("Feedback shared"),
        Action.CHANGE_SCHEDULED: lambda: (
            _("Change to %(plan)s scheduled for %(date)s")
            % {"plan": plan(after), "date": day(after.get("effective"))}
        ),
        Action.SCHEDULED_CHANGE_CANCELLED: lambda: (
            _("Scheduled change to %(plan)s cancelled") % {"plan": plan(before)}
        ),
        Action.SCHEDULED_CHANGE_NOT_APPLIED: lambda: (
            _("Scheduled change to %(plan)s not applied: %(reason)s")
            % {"plan": plan(after), "reason": after.get("reason", "")}
        ),
        Action.SUBSCRIPTION_STARTED: lambda: (
            _("Subscription started on the %(plan)s plan") % {"plan": plan(after)}
        ),
        Action.SUBSCRIPTION_RENEWED: lambda: _("Billing period renewed"),
        Action.REFUND_REQUESTED: lambda: _("Prorated refund requested"),
        Action.OVERRIDE_GRANTED: lambda: (
            _("Extra entitlement granted: %(feature)s") % {"feature": after.get("feature")}
        ),
        Action.OVERRIDE_REVOKED: lambda: (
            _("Extra entitlement ended: %(feature)s") % {"feature": before.get("feature")}
        ),
        Action.USER_SEAT_DEACTIVATED: lambda: _("A user was deactivated to fit the plan's seats"),
    }
    if event.action in texts:
        return texts[event.action]()
    if event.action.startswith("refund."):  # approved, rejected, withdrawn, refunded
        status = dict(RefundStatus.choices).get(str(after.get("status")), "")
        return _("Refund request: %(status)s") % {"status": status}
    return event.action
