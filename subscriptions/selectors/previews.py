"""What a plan change would do, changing nothing: the preview of one change (the Store's
confirmation, the admin, ``change_plan --dry-run``, and ``change_plan`` itself) and the
Store's offer of every other plan. Both take the change's kind, seats, price and
"gained / no longer available" from the same functions here; the periods and bills they
speak of are ``selectors.periods``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import (
    SubscriptionError,
)
from subscriptions.invoicing import TAX_RATES, Totals, tax_on_return, totals
from subscriptions.models import BillingCycle, ChangeKind, Feature, Plan, Subscription
from subscriptions.proration import (
    Quote,
    period_days,
    period_end,
    quote_change,
    quote_cycle_switch,
    remaining_days,
)
from subscriptions.selectors.catalogue import (
    get_plan,
    valid_choice,
    valid_seats,
)
from subscriptions.selectors.change_rules import (
    change_kind,
    change_refusal,
    default_seats,
    seat_range,
)
from subscriptions.selectors.entitlements import (
    entitlements_for,
    entitlements_on,
    feature_changes,
    subscription_of,
    usage_of,
)
from subscriptions.selectors.ledger import invoiced_for_period
from subscriptions.selectors.periods import Bill, bill_after, list_price, renewed
from subscriptions.selectors.scheduled_changes import scheduled_change_of


@dataclass(frozen=True)
class LimitImpact:
    """A limit the new plan sets below what the organisation has: objects past the
    limit are hidden (oldest stay visible), never deleted."""

    feature: Feature
    limit: int | None
    in_use: int

    @property
    def hidden(self) -> int:
        return 0 if self.limit is None else max(0, self.in_use - self.limit)


@dataclass(frozen=True)
class PlanChangePreview:
    """The impact of a plan change, computed without changing anything."""

    organisation: Organisation
    subscription: Subscription
    from_plan: Plan
    to_plan: Plan
    from_cycle: str
    to_cycle: str
    kind: str
    refusal: SubscriptionError | None
    features_lost: tuple[Feature, ...]
    features_gained: tuple[Feature, ...]
    limits_exceeded: tuple[LimitImpact, ...]
    seats_before: int
    seats_after: int
    seats_min: int
    seats_max: int
    seats_in_use: int
    new_price: Decimal
    quote: Quote
    refund_tax: Decimal  # the tax paid on the refund quote's part (tax follows the money)
    credit_tax: Decimal  # a new cycle's: the tax paid on the credit it uses
    currency: str
    period_start: date
    period_end: date

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def next_bill(self) -> Bill:
        """The first bill after the change: the period after the one the subscription
        is in afterwards, at the new price (``new_price``: the new plan's list price
        for the cycle and seats after the change)."""
        return bill_after(
            self.period_end, self.new_price, currency=self.currency, cycle=self.to_cycle
        )

    @property
    def promise(self) -> str:
        """What a confirmation of this preview binds its confirmer to: a digest of every
        figure the preview shows (the move, the money now and its tax, the refund quote,
        the period, the next bill, the day a scheduled change takes effect). The services
        apply a change only while its preview still has this digest (``QuoteChanged``)."""
        bill, charge = self.next_bill, self.charge_now
        figures = [
            self.organisation.pk,
            self.kind,
            [self.from_plan.code, self.from_cycle, self.seats_before],
            [self.to_plan.code, self.to_cycle, self.seats_after],
            self.currency,
            [self.period_start.isoformat(), self.period_end.isoformat()],
            [self.quote.remaining_days, str(self.quote.due), str(self.quote.refund)],
            str(self.refund_tax),
            [str(charge.subtotal), str(charge.tax), str(charge.total)],
            str(self.new_price),
            [bill.due_on.isoformat(), str(bill.amount)],
            self.effective.isoformat(),
        ]
        return hashlib.sha256(json.dumps(figures).encode()).hexdigest()[:32]

    @property
    def refund_now(self) -> Totals:
        """The prorated refund that may be requested: the quote, the tax paid on that part
        of the period's invoices, and their total."""
        return Totals(
            subtotal=self.quote.refund,
            tax_rate=TAX_RATES[self.currency],
            tax=self.refund_tax,
            total=self.quote.refund + self.refund_tax,
        )

    @property
    def new_period(self) -> bool:
        """Whether the change starts a period today: of the other billing cycle, or the
        first paid one after a trial."""
        return self.to_cycle != self.from_cycle or self.kind == ChangeKind.SUBSCRIBE

    @property
    def credit(self) -> Totals:
        """A new cycle's credit: the part of the old period's unused value it uses against
        the new period's price, and the tax paid on it (its return invoice); nothing
        otherwise."""
        used = self.new_price - self.quote.due if self.new_period else Decimal(0)
        return Totals(
            subtotal=used,
            tax_rate=TAX_RATES[self.currency],
            tax=self.credit_tax,
            total=used + self.credit_tax,
        )

    @property
    def charge_now(self) -> Totals:
        """What is charged now, as its documents will say: the amount due and its tax; for
        a new cycle, the new period's invoice less the credit given back on its return
        invoice."""
        if not self.new_period:
            return totals([self.quote.due], self.currency)
        invoice, credit = totals([self.new_price], self.currency), self.credit
        return Totals(
            subtotal=invoice.subtotal - credit.subtotal,
            tax_rate=invoice.tax_rate,
            tax=invoice.tax - credit.tax,
            total=invoice.total - credit.total,
        )

    @property
    def reduces(self) -> bool:
        """Whether the change lowers what is paid (a downgrade, fewer seats, a cycle that
        costs less now): its money is a refund quote to request, not a charge."""
        if self.kind in (ChangeKind.DOWNGRADE, ChangeKind.UPGRADE):
            return self.kind == ChangeKind.DOWNGRADE
        return self.quote.due == 0 and (
            self.quote.refund > 0 or self.seats_after < self.seats_before
        )

    @property
    def schedulable(self) -> bool:
        """Whether the change may wait for the end of the period instead (docs/domain.md,
        Time): a downgrade, fewer seats or the other billing cycle. Upgrades (and more
        seats) are always made now."""
        if self.subscription.on_trial:  # its end is on Free already
            return False
        if self.kind == ChangeKind.SEATS:
            return self.seats_after < self.seats_before
        return self.kind in (ChangeKind.DOWNGRADE, ChangeKind.CYCLE)

    @property
    def effective(self) -> date:
        """The day the change takes effect if it waits for the end of the period: the
        first day of the next period."""
        return self.subscription.period_end + timedelta(days=1)

    @property
    def seats_over(self) -> int:
        """How many active users must be deactivated (kept, never deleted)."""
        return max(0, self.seats_in_use - self.seats_after)


def _quote(
    subscription: Subscription,
    to_cycle: str,
    new_price: Decimal,
    seats_after: int,
    today: date,
    *,
    kind: str,
) -> tuple[Quote, date, date]:
    """The money of the change and the period the subscription will be in afterwards.
    Same cycle: docs/domain.md's proration within the current period. New cycle: the unused
    value of the current period is credited against a new period of the new cycle
    starting today. The change day counts as used, as in every quote (docs/domain.md): with
    today counted unused too, a cycle switch on the day of an upgrade credited a day the
    upgrade never charged, and a refund could exceed what was paid."""
    if to_cycle == subscription.cycle and kind != ChangeKind.SUBSCRIBE:
        quote = quote_change(
            paid_value=subscription.value_paid,
            new_value=new_price,
            days_in_period=subscription.period_days,
            remaining=remaining_days(subscription.period_end, today),
            currency=subscription.currency,
            downgrade=kind == ChangeKind.DOWNGRADE
            or (kind == ChangeKind.SEATS and seats_after < subscription.seats),
        )
        return quote, subscription.period_start, subscription.period_end
    start, end = today, period_end(today, to_cycle)
    quote = quote_cycle_switch(
        paid_value=subscription.value_paid,
        days_in_period=subscription.period_days,
        remaining=remaining_days(subscription.period_end, today),
        new_price=new_price,
        new_period_days=period_days(start, end),
        currency=subscription.currency,
    )
    return quote, start, end


def build_preview(
    organisation: Organisation,
    *,
    subscription: Subscription,
    to_plan: Plan,
    cycle: str | None,
    seats: int | None,
    today: date,
) -> PlanChangePreview:
    """The preview of a change of ``subscription`` (as of ``today``) to ``to_plan``;
    ``change_plan`` calls this with the subscription it has locked."""
    to_cycle = valid_choice(cycle, BillingCycle, "billing cycle") if cycle else subscription.cycle
    seats_after = (
        default_seats(subscription, to_plan) if seats is None else valid_seats(to_plan, seats)
    )
    kind = change_kind(subscription, to_plan, to_cycle)
    current = entitlements_for(organisation, today=today)
    [after] = entitlements_on(organisation, [(to_plan, seats_after)], today=today)
    features = list(Feature.objects.all())
    changes = feature_changes(current, after, features)
    usage = usage_of(organisation)
    limits_exceeded = tuple(
        LimitImpact(feature, after.limit(feature.code), usage[feature.code])
        for feature in features
        if feature.code in usage and not after.allows(feature.code, usage[feature.code])
    )
    new_price = list_price(to_plan, to_cycle, seats_after, subscription.currency)
    quote, start, end = _quote(subscription, to_cycle, new_price, seats_after, today, kind=kind)
    # Tax follows the money: what goes back (a refund quote, a new cycle's credit) takes
    # its share of the tax of the period's invoices (one query, only then).
    new_period = to_cycle != subscription.cycle or kind == ChangeKind.SUBSCRIBE
    credit_used = new_price - quote.due if new_period else Decimal(0)
    invoiced = invoiced_for_period(subscription) if quote.refund > 0 or credit_used > 0 else None
    refund_tax, credit_tax = (
        (
            tax_on_return(quote.refund, invoiced=invoiced, currency=subscription.currency),
            tax_on_return(credit_used, invoiced=invoiced, currency=subscription.currency),
        )
        if invoiced is not None
        else (Decimal(0), Decimal(0))
    )
    seats_min, seats_max = seat_range(subscription, to_plan, kind=kind)
    return PlanChangePreview(
        organisation=organisation,
        subscription=subscription,
        from_plan=subscription.plan,
        to_plan=to_plan,
        from_cycle=subscription.cycle,
        to_cycle=to_cycle,
        kind=kind,
        refusal=change_refusal(
            subscription,
            to_plan,
            to_cycle=to_cycle,
            seats_after=seats_after,
            new_price=new_price,
        ),
        features_lost=changes.lost,
        features_gained=changes.gained,
        limits_exceeded=limits_exceeded,
        seats_before=subscription.seats,
        seats_after=seats_after,
        seats_min=seats_min,
        seats_max=seats_max,
        seats_in_use=usage["seats"],
        new_price=new_price,
        quote=quote,
        refund_tax=refund_tax,
        credit_tax=credit_tax,
        currency=subscription.currency,
        period_start=start,
        period_end=end,
    )


def preview_plan_change(
    organisation: Organisation,
    plan_code: str,
    *,
    cycle: str | None = None,
    seats: int | None = None,
    today: date | None = None,
) -> PlanChangePreview:
    """What changing to ``plan_code`` would do, changing nothing: allowed or refused
    (with the reason), features lost and gained, limits exceeded and objects hidden,
    seats over the new cap, and the refund quote or the amount due."""
    day = today or clock.today(organisation)
    to_plan = get_plan(plan_code)
    current = subscription_of(organisation)
    # A period that ended and was not renewed yet starts with the change scheduled for
    # then, as the renewal that comes first in every change will make it.
    scheduled = scheduled_change_of(organisation) if day > current.period_end else None
    return build_preview(
        organisation,
        subscription=renewed(current, day, scheduled),
        to_plan=to_plan,
        cycle=cycle,
        seats=seats,
        today=day,
    )
