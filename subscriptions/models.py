"""Plan catalogue, subscriptions, plan changes, refunds and the audit log (public schema).

The catalogue is data that staff edit: plans, prices, features, each plan's value for each
feature and the allowed transitions. What an organisation may use is derived at read time
(``selectors.entitlements.entitlements_for``); nothing an organisation created is ever
changed or deleted by a plan change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.money import per_day
from subscriptions.proration import period_end


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")


class Currency(models.TextChoices):
    JPY = "JPY", "JPY"
    USD = "USD", "USD"


class Bilingual(models.Model):
    """A catalogue entry with a name in Japanese and English."""

    name_en = models.CharField(_("name (English)"), max_length=100)
    name_ja = models.CharField(_("name (Japanese)"), max_length=100)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_ja if (get_language() or "").startswith("ja") else self.name_en


class Plan(Bilingual):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher ranks are higher plans.")
    )
    seat_cap = models.PositiveIntegerField(
        _("seat cap"),
        null=True,
        blank=True,
        help_text=_("Most agent seats the plan allows; empty: bought per seat, no cap."),
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["rank"]


class PlanPrice(models.Model):
    """What one agent seat costs per month on a plan, for a billing cycle and currency.
    Annual billing pays 12 months of its (cheaper) monthly rate at once."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    cycle = models.CharField(_("billing cycle"), max_length=10, choices=BillingCycle.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    per_seat_month = models.DecimalField(_("per seat per month"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("plan price")
        verbose_name_plural = _("plan prices")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "cycle", "currency"], name="subscriptions_one_price_per_cycle"
            ),
            models.CheckConstraint(
                condition=Q(per_seat_month__gte=0), name="subscriptions_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.cycle} {self.currency} {self.per_seat_month}"


class Feature(Bilingual):
    class Kind(models.TextChoices):
        SWITCH = "switch", _("On/off")
        LIMIT = "limit", _("Limit")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["position", "code"]


class PlanFeature(models.Model):
    """A plan's value for a feature: a switch is on or off; a limit is off, a number,
    or unlimited (empty)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="features")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="plan_values")
    enabled = models.BooleanField(_("available"), default=True)
    limit = models.PositiveIntegerField(
        _("limit"), null=True, blank=True, help_text=_("For limits: empty means unlimited.")
    )

    class Meta:
        verbose_name = _("plan feature")
        verbose_name_plural = _("plan features")
        constraints = [
            models.UniqueConstraint(fields=["plan", "feature"], name="subscriptions_one_value")
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.feature}"


class TransitionKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


class PlanTransition(models.Model):
    """An allowed move between two plans. Any move not in this table is refused."""

    from_plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="transitions_out")
    to_plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="transitions_in")
    kind = models.CharField(_("kind"), max_length=10, choices=TransitionKind.choices)

    class Meta:
        verbose_name = _("allowed transition")
        verbose_name_plural = _("allowed transitions")
        ordering = ["from_plan__rank", "to_plan__rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_plan", "to_plan"], name="subscriptions_one_transition"
            ),
            models.CheckConstraint(
                condition=~Q(from_plan=models.F("to_plan")), name="subscriptions_transition_moves"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_plan} → {self.to_plan}"


class Subscription(models.Model):
    """An organisation's plan and its current billing period. ``paid_value`` is the
    value paid per day for the plan it is on (DOMAIN.md, Money) times the period's
    days: kept whole so that proration is exact."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="subscription"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    cycle = models.CharField(_("billing cycle"), max_length=10, choices=BillingCycle.choices)
    seats = models.PositiveIntegerField(_("licensed seats"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
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
    # Part of the entitlements cache key: every plan change, override and catalogue edit
    # sets it, and a rolled-back change's time never comes again.
    updated_at = models.DateTimeField(auto_now=True)

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

    def __str__(self) -> str:
        return f"{self.organisation} · {self.plan}"

    @property
    def period_days(self) -> int:
        return (self.period_end - self.period_start).days + 1

    @property
    def paid_daily(self) -> Decimal:
        """The value paid per day (12 places, for display)."""
        return per_day(self.paid_value, self.period_days)

    def begin_period(self, start: date, amount_paid: Decimal) -> None:
        """Start a period of the subscription's cycle on ``start``, paid ``amount_paid``
        (not saved: the caller saves within its change)."""
        self.period_start = start
        self.period_end = period_end(start, self.cycle)
        self.amount_paid = amount_paid
        self.upgrade_charges = Decimal(0)
        self.paid_value = amount_paid


class EntitlementOverride(models.Model):
    """Staff grant one organisation a feature or a higher limit, optionally until a date."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="entitlement_overrides"
    )
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="overrides")
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


class FeedbackReason(models.TextChoices):
    TOO_EXPENSIVE = "too_expensive", _("Too expensive")
    UNUSED_FEATURES = "unused_features", _("We don't use the features")
    FEWER_AGENTS = "fewer_agents", _("We have fewer agents now")
    TEMPORARY = "temporary", _("Only for a while")
    OTHER_PRODUCT = "other_product", _("Moving to another product")
    OTHER = "other", _("Other")


class ChangeKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    CYCLE = "cycle", _("Billing cycle change")


class PlanChange(models.Model):
    """One applied change of plan (or cycle), with the money as it was at that moment."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="plan_changes"
    )
    from_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    to_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind.choices)
    from_cycle = models.CharField(max_length=10, choices=BillingCycle.choices)
    to_cycle = models.CharField(max_length=10, choices=BillingCycle.choices)
    seats_before = models.PositiveIntegerField()
    seats_after = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    changed_on = models.DateField(_("changed on"))
    period_end = models.DateField(
        _("period end"), help_text=_("A refund may be requested until then.")
    )
    remaining_days = models.PositiveIntegerField(_("remaining days"))
    paid_daily_before = models.DecimalField(max_digits=26, decimal_places=12)
    new_daily = models.DecimalField(max_digits=26, decimal_places=12)
    refund_quote = models.DecimalField(_("refund quote"), max_digits=14, decimal_places=2)
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    payment_reference = models.CharField(max_length=100, blank=True)
    deactivated_user_ids = models.JSONField(default=list, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    # NULL, not "": changes without a key must not clash in the unique constraint.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    feedback_reason = models.CharField(
        _("reason"), max_length=20, choices=FeedbackReason.choices, blank=True
    )
    feedback_text = models.TextField(_("feedback"), blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="subscriptions_change_idempotent",
            ),
            models.CheckConstraint(
                condition=Q(refund_quote__gte=0) & Q(amount_due__gte=0),
                name="subscriptions_change_money_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.from_plan} → {self.to_plan}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUNDED = "refunded", _("Refunded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RefundRequest(models.Model):
    """A customer's request for the prorated refund of one downgrade; never automatic."""

    plan_change = models.OneToOneField(
        PlanChange, on_delete=models.PROTECT, related_name="refund_request"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="refund_requests"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    requested_by_id = models.BigIntegerField()
    requested_by_email = models.EmailField(_("requested by"))
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.CharField(_("decided by"), max_length=254, blank=True)
    decision_note = models.TextField(_("note"), blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("decide_refundrequest", _("Can approve, reject and mark refund requests refunded")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="subscriptions_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.amount} {self.currency} ({self.status})"


class AuditEvent(models.Model):
    """Who did what to which organisation, before and after. Append-only: the
    database refuses UPDATE and DELETE on this table (a trigger, see migrations)."""

    class ActorKind(models.TextChoices):
        USER = "user", _("Organisation user")
        STAFF = "staff", _("Vendor staff")
        COMMAND = "command", _("Command")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    target = models.CharField(_("target"), max_length=100, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="subscriptions_audit_org")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
