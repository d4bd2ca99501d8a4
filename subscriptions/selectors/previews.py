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
    NothingToBill,
    PriceMissing,
    SamePlan,
    SeatsAgainstTheChange,
    SubscriptionError,
)
from subscriptions.invoicing import TAX_RATES, Totals, tax_on_return, totals
from subscriptions.models import BillingCycle, ChangeKind, Feature, Plan, Subscription
from subscriptions.proration import (
    Quote,
    cycle_price,
    period_days,
    period_end,
    quote_change,
    quote_cycle_switch,
    remaining_days,
)
from subscriptions.selectors.catalogue import (
    MAX_SEATS,
    get_plan,
    seat_rates,
    transition_refusal,
    transition_refusals,
    valid_choice,
    valid_seats,
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


def change_kind(
    subscription: Subscription,
    to_plan: Plan,
    to_cycle: str | None = None,
) -> str:
    """Upgrade or downgrade by the plans' ranks. On the same plan: a change of billing
    cycle (``to_cycle``, when it differs), else of seats."""
    if to_plan.pk == subscription.plan_id:
        if to_cycle is not None and to_cycle != subscription.cycle:
            return ChangeKind.CYCLE
        return ChangeKind.SEATS
    return ChangeKind.UPGRADE if to_plan.rank > subscription.plan.rank else ChangeKind.DOWNGRADE


def default_seats(subscription: Subscription, to_plan: Plan) -> int:
    """The seats a change to ``to_plan`` keeps unless told otherwise: the seats bought
    now on the same plan or a plan without a cap, else the plan's cap (Free: 3)."""
    if to_plan.pk == subscription.plan_id or to_plan.seat_cap is None:
        return subscription.seats
    return to_plan.seat_cap


def seat_range(subscription: Subscription, to_plan: Plan, *, kind: str) -> tuple[int, int]:
    """The fewest and most seats a change to ``to_plan`` may have: 1 to the plan's cap.
    Seats bought on a paid plan move with the plan: a downgrade does not add any (they
    would never be charged) and an upgrade does not remove any (they would never be
    refunded)."""
    low, high = 1, to_plan.seat_cap if to_plan.seat_cap is not None else MAX_SEATS
    if subscription.plan.seat_cap is None and to_plan.seat_cap is None:
        if kind == ChangeKind.DOWNGRADE:
            high = min(high, subscription.seats)
        elif kind == ChangeKind.UPGRADE:
            low = max(low, subscription.seats)
    return low, high


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
        """Whether the change starts a period of the other billing cycle today."""
        return self.to_cycle != self.from_cycle

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
    if to_cycle == subscription.cycle:
        quote = quote_change(
            paid_value=subscription.paid_value,
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
        paid_value=subscription.paid_value,
        days_in_period=subscription.period_days,
        remaining=remaining_days(subscription.period_end, today),
        new_price=new_price,
        new_period_days=period_days(start, end),
        currency=subscription.currency,
    )
    return quote, start, end


def change_refusal(
    subscription: Subscription,
    to_plan: Plan,
    *,
    to_cycle: str,
    seats_after: int,
    new_price: Decimal,
    transitions: dict[int, SubscriptionError | None] | None = None,
) -> SubscriptionError | None:
    """Why ``subscription`` may not change to ``to_plan``, ``to_cycle`` and
    ``seats_after`` (one period of which costs ``new_price``, tax-exclusive), or None: the
    one rule for a change made now, one scheduled, the one a renewal applies when its day
    comes, and the Store's cards. A cycle switch must have something to bill, a change of
    seats must change them, the transition table must allow a move to another plan, and
    seats move with the plan (``seat_range``). ``transitions``: the table's answers for
    many plans at once (``transition_refusals``), else it is read for this one."""
    kind = change_kind(subscription, to_plan, to_cycle)
    if kind == ChangeKind.CYCLE and new_price == 0:
        return NothingToBill(plan=to_plan.name)
    if kind == ChangeKind.SEATS and seats_after == subscription.seats:
        return SamePlan(plan=to_plan.name)
    if kind in (ChangeKind.CYCLE, ChangeKind.SEATS):
        refusal = None
    elif transitions is not None:
        refusal = transitions[to_plan.pk]
    else:
        refusal = transition_refusal(subscription.plan, to_plan)
    low, high = seat_range(subscription, to_plan, kind=kind)
    if refusal is None and not low <= seats_after <= high:
        return SeatsAgainstTheChange(plan=to_plan.name, seats=subscription.seats)
    return refusal


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
    credit_used = new_price - quote.due if to_cycle != subscription.cycle else Decimal(0)
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


@dataclass(frozen=True)
class PlanOffer:
    """A plan as the Store shows it to an organisation: its price for the
    organisation's cycle and seats, what it includes, and what changes."""

    plan: Plan
    kind: str
    refusal: SubscriptionError | None
    price: Decimal
    currency: str
    cycle: str
    seats: int
    limits: tuple[tuple[Feature, int | None], ...]
    gained: tuple[Feature, ...]
    lost: tuple[Feature, ...]

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def store_offers(organisation: Organisation) -> list[PlanOffer]:
    """Every other plan, for the Store: with the seats, price and entitlements the
    preview of that change would compute (a handful of queries whatever the catalogue)."""
    subscription = subscription_of(organisation)
    current = entitlements_for(organisation)
    features = list(Feature.objects.all())
    rates = seat_rates(subscription.cycle, subscription.currency)
    targets = [
        (plan, default_seats(subscription, plan))
        for plan in Plan.objects.exclude(pk=subscription.plan_id)
    ]
    refusals = transition_refusals(subscription.plan, [plan for plan, _seats in targets])
    offers = []
    for (plan, seats), after in zip(targets, entitlements_on(organisation, targets), strict=True):
        changes = feature_changes(current, after, features)
        price = cycle_price(rates.get(plan.pk, Decimal(0)), seats, subscription.cycle)
        refusal = (
            change_refusal(
                subscription,
                plan,
                to_cycle=subscription.cycle,
                seats_after=seats,
                new_price=price,
                transitions=refusals,
            )
            if plan.pk in rates
            else PriceMissing(
                plan=plan.name,
                cycle=BillingCycle(subscription.cycle).label,
                currency=subscription.currency,
            )
        )
        offers.append(
            PlanOffer(
                plan=plan,
                kind=change_kind(subscription, plan),
                refusal=refusal,
                price=price,
                currency=subscription.currency,
                cycle=subscription.cycle,
                seats=seats,
                limits=tuple(
                    (feature, after.limit(feature.code))
                    for feature in features
                    if feature.kind == Feature.Kind.LIMIT
                ),
                gained=changes.gained,
                lost=changes.lost,
            )
        )
    return offers
