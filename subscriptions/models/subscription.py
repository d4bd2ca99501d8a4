"""An organisation's subscription (plan, cycle, seats, current period) and the
overrides staff grant it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.models.catalogue import BillingCycle, Currency, Feature, Plan
from subscriptions.money import per_day
from subscriptions.proration import period_end


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def touch(self) -> int:
        """What these organisations may use has changed (an override, a catalogue edit):
        a new ``stamp``, so that their entitlements are computed afresh."""
        return self.update(stamp=uuid.uuid4(), updated_at=timezone.now())


class Subscription(models.Model):
    """An organisation's plan and its current billing period. ``paid_value`` is the
    value paid per day for the plan it is on (docs/domain.md, Money) times the period's
    days: kept whole so that proration is exact."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="subscription",
        verbose_name=_("organisation"),
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    cycle = models.CharField(_("billing cycle"), max_length=10, choices=BillingCycle.choices)
    seats = models.PositiveIntegerField(_("licensed seats"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    # The day the first period began: every period keeps its day (annual: and month),
    # counted from here, so that a 31st does not drift to the 28th after February.
    billing_anchor = models.DateField(_("billing anchor"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("The last day of the period."))
    amount_paid = models.DecimalField(
        _("paid for the period"),
        max_digits=14,
        decimal_places=2,
        help_text=_("What was actually paid at the period's start, discounts included."),
    )
    upgrade_charges = models.DecimalField(
        _("upgrade charges in the period"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    paid_value = models.DecimalField(
        _("value paid per day × days"),
        max_digits=14,
        decimal_places=2,
        help_text=_("The value paid per day for the current plan, times the period's days."),
    )
    # The organisation's active users (they hold seats), kept by ``accounts.services`` in
    # the transaction of every change of who is active: what is read across organisations
    # (the admin, commands) reads this instead of every schema.
    seats_in_use = models.PositiveIntegerField(_("seats in use"), default=0)
    # The renewal day whose payment failed (docs/domain.md, Collecting the money): past due
    # until that invoice is paid or the organisation falls back to Free (``dunning``).
    past_due_since = models.DateField(_("past due since"), null=True, blank=True)
    # A trial (services/trials.py): the day it began, kept for good (one trial per
    # organisation), and the day it falls back to Free, the period's end + 1 while it lasts
    # (cleared when it ends or a plan is chosen); the last reminder of its end went out on.
    trial_started_on = models.DateField(_("trial started"), null=True, blank=True)
    trial_ends_on = models.DateField(
        _("trial ends"),
        null=True,
        blank=True,
        help_text=_("The first day on Free, unless a plan is chosen before."),
    )
    trial_reminded_on = models.DateField(
        _("trial reminder sent"), null=True, blank=True, editable=False
    )
    # The organisation closes on this day, the period's end + 1 (services/closures.py),
    # unless the closure is cancelled before.
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    # An annual subscription's renewal reminder went out on this day (for the period then).
    renewal_reminded_on = models.DateField(
        _("renewal reminded on"), null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The entitlements cache key's version: new with every save of the terms, override and
    # catalogue edit. Random, so that a rolled-back change's stamp never comes again and
    # the clock plays no part (two changes in one instant still differ).
    stamp = models.UUIDField(_("version stamp"), default=uuid.uuid4, editable=False)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="subscriptions_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1), name="subscriptions_at_least_one_seat"
            ),
        ]
        indexes = [
            # The daily run's trials whose end is near: few among many subscriptions.
            models.Index(
                fields=["trial_ends_on"],
                condition=Q(trial_ends_on__isnull=False),
                name="subscriptions_on_trial",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.plan}"

    @property
    def period_days(self) -> int:
        return (self.period_end - self.period_start).days + 1

    @property
    def on_trial(self) -> bool:
        """Whether the subscription is a trial that has not ended (nothing was paid)."""
        return self.trial_ends_on is not None

    @property
    def value_paid(self) -> Decimal:
        """``paid_value`` as proration reads it: nothing while past due (the period's
        invoice is unpaid, so nothing of it can be refunded or credited)."""
        return Decimal(0) if self.past_due_since is not None else self.paid_value

    @property
    def paid_daily(self) -> Decimal:
        """The value paid per day (12 places, for display)."""
        return per_day(self.paid_value, self.period_days)

    # What plan changes and renewals write: never ``seats_in_use``, which the change of who
    # is active writes, maybe earlier in the same transaction.
    TERMS = (
        "plan",
        "cycle",
        "seats",
        "billing_anchor",
        "period_start",
        "period_end",
        "amount_paid",
        "upgrade_charges",
        "paid_value",
        "trial_ends_on",
        "updated_at",
        "stamp",
    )

    def save_terms(self) -> None:
        """Save the plan, cycle, seats and period (``TERMS``), with a new ``stamp``."""
        self.stamp = uuid.uuid4()
        self.save(update_fields=self.TERMS)

    def begin_period(self, start: date, amount_paid: Decimal) -> None:
        """Start a period of the subscription's cycle on ``start``, paid ``amount_paid``
        (not saved: the caller saves within its change)."""
        self.period_start = start
        self.period_end = period_end(start, self.cycle, self.billing_anchor)
        self.amount_paid = amount_paid
        self.upgrade_charges = Decimal(0)
        self.paid_value = amount_paid


class EntitlementOverride(models.Model):
    """Staff grant one organisation a feature or a higher limit, optionally until a date."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="entitlement_overrides",
        verbose_name=_("organisation"),
    )
    feature = models.ForeignKey(
        Feature, on_delete=models.PROTECT, related_name="overrides", verbose_name=_("feature")
    )
    limit = models.PositiveIntegerField(
        _("limit"), null=True, blank=True, help_text=_("For limits: empty means unlimited.")
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    granted_by = models.CharField(_("granted by"), max_length=254)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("entitlement override")
        verbose_name_plural = _("entitlement overrides")
        ordering = ["-granted_at"]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.feature}"
