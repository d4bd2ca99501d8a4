"""Plan changes as they were applied, with their money, and the refund requests
made for them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.models.catalogue import BillingCycle, Currency, Plan
from subscriptions.money import format_amount


class FeedbackReason(models.TextChoices):
    """Why an organisation changed its plan; ``for_kind`` says which fit which change."""

    # Moving down
    TOO_EXPENSIVE = "too_expensive", _("Too expensive")
    UNUSED_FEATURES = "unused_features", _("We don't use the features")
    FEWER_AGENTS = "fewer_agents", _("We have fewer agents now")
    TEMPORARY = "temporary", _("Only for a while")
    OTHER_PRODUCT = "other_product", _("Moving to another product")
    # Moving up
    NEED_FEATURES = "need_features", _("We need features of the higher plan")
    HIGHER_LIMITS = "higher_limits", _("We need higher limits")
    MORE_AGENTS = "more_agents", _("We have more agents now")
    # Any change
    OTHER = "other", _("Other")

    @classmethod
    def for_kind(cls, kind: str) -> tuple[FeedbackReason, ...]:
        """The reasons that fit a change of ``kind`` (``ChangeKind``), in the order
        offered; a kind without its own reasons is offered "Other" alone."""
        return FEEDBACK_REASONS_BY_KIND.get(kind, (cls.OTHER,))


class ChangeKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    CYCLE = "cycle", _("Billing cycle change")
    SEATS = "seats", _("Seat change")
    SUBSCRIBE = "subscribe", _("Plan chosen after a trial")


# Which reasons fit which change: nobody upgrades because a plan is too expensive. Data,
# not conditions: a new kind of change gets its row here.
FEEDBACK_REASONS_BY_KIND: dict[str, tuple[FeedbackReason, ...]] = {
    ChangeKind.DOWNGRADE: (
        FeedbackReason.TOO_EXPENSIVE,
        FeedbackReason.UNUSED_FEATURES,
        FeedbackReason.FEWER_AGENTS,
        FeedbackReason.TEMPORARY,
        FeedbackReason.OTHER_PRODUCT,
        FeedbackReason.OTHER,
    ),
    ChangeKind.UPGRADE: (
        FeedbackReason.NEED_FEATURES,
        FeedbackReason.HIGHER_LIMITS,
        FeedbackReason.MORE_AGENTS,
        FeedbackReason.OTHER,
    ),
    # More or fewer seats on the same plan.
    ChangeKind.SEATS: (
        FeedbackReason.MORE_AGENTS,
        FeedbackReason.FEWER_AGENTS,
        FeedbackReason.TOO_EXPENSIVE,
        FeedbackReason.OTHER,
    ),
    # Monthly ↔ annual: to pay less (annual), or for a while only (monthly).
    ChangeKind.CYCLE: (
        FeedbackReason.TOO_EXPENSIVE,
        FeedbackReason.TEMPORARY,
        FeedbackReason.OTHER,
    ),
    # A paid plan chosen during a trial: what it needed of the plans it tried.
    ChangeKind.SUBSCRIBE: (
        FeedbackReason.NEED_FEATURES,
        FeedbackReason.MORE_AGENTS,
        FeedbackReason.TOO_EXPENSIVE,
        FeedbackReason.OTHER,
    ),
}


class ChangeTerms(models.Model):
    """What a change is, made now (``PlanChange``) or waiting for the period's end
    (``ScheduledChange``): from which plan, cycle and seats to which, and its kind. Defined
    once, here; ``terms_of`` copies them from a preview or a scheduled change."""

    from_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("from plan")
    )
    to_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("to plan")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind.choices)
    from_cycle = models.CharField(_("cycle before"), max_length=10, choices=BillingCycle.choices)
    to_cycle = models.CharField(_("billing cycle"), max_length=10, choices=BillingCycle.choices)
    seats_before = models.PositiveIntegerField(_("seats before"))
    seats_after = models.PositiveIntegerField(_("seats"))

    class Meta:
        abstract = True


TERMS = ("from_plan", "to_plan", "kind", "from_cycle", "to_cycle", "seats_before", "seats_after")


def terms_of(source: Any) -> dict[str, Any]:
    """The terms of a change as ``source`` has them (a ``PlanChangePreview``, a
    ``ScheduledChange``): the fields ``ChangeTerms`` defines, by name."""
    return {name: getattr(source, name) for name in TERMS}


class PlanChange(ChangeTerms):
    """One applied change of plan (or cycle), with the money as it was at that moment."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="plan_changes",
        verbose_name=_("organisation"),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    changed_on = models.DateField(_("changed on"))
    period_end = models.DateField(
        _("period end"), help_text=_("A refund may be requested until then.")
    )
    remaining_days = models.PositiveIntegerField(_("remaining days"))
    paid_daily_before = models.DecimalField(
        _("paid per day before"), max_digits=26, decimal_places=12
    )
    new_daily = models.DecimalField(_("new price per day"), max_digits=26, decimal_places=12)
    refund_quote = models.DecimalField(_("refund quote"), max_digits=14, decimal_places=2)
    # The consumption tax paid on the refund quote's part, from the period's invoices.
    refund_tax = models.DecimalField(
        _("tax on the refund quote"), max_digits=14, decimal_places=2, default=0
    )
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    # The new plan's list price for the cycle and seats, as it was (changes made before it
    # was kept have none).
    new_price = models.DecimalField(
        _("new price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    deactivated_user_ids = models.JSONField(_("users deactivated"), default=list, blank=True)
    actor_kind = models.CharField(_("actor kind"), max_length=10)
    actor_id = models.BigIntegerField(_("actor ID"), null=True, blank=True)
    actor_email = models.CharField(_("actor"), max_length=254, blank=True)
    # NULL, not "": changes without a key must not clash in the unique constraint.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=64, null=True, blank=True
    )
    feedback_reason = models.CharField(
        _("reason"), max_length=20, choices=FeedbackReason.choices, blank=True
    )
    feedback_text = models.TextField(_("feedback"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

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

    @property
    def refund_total(self) -> Decimal:
        """The prorated refund that may be requested, tax included."""
        return self.refund_quote + self.refund_tax


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUNDED = "refunded", _("Refunded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RefundRequest(models.Model):
    """A customer's request for the prorated refund of one downgrade; never automatic."""

    plan_change = models.OneToOneField(
        PlanChange,
        on_delete=models.PROTECT,
        related_name="refund_request",
        verbose_name=_("plan change"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="refund_requests",
        verbose_name=_("organisation"),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)  # excl. tax
    tax = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    requested_by_id = models.BigIntegerField(_("requester ID"))
    requested_by_email = models.EmailField(_("requested by"))
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.CharField(_("decided by"), max_length=254, blank=True)
    decision_note = models.TextField(_("note"), blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

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
        return gettext("%(organisation)s — %(amount)s (%(status)s)") % {
            "organisation": self.organisation,
            "amount": format_amount(self.total, self.currency),
            "status": self.get_status_display(),
        }

    @property
    def total(self) -> Decimal:
        """What goes back: the amount and the tax paid on it."""
        return self.amount + self.tax


class ScheduledChange(ChangeTerms):
    """A change the customer (or staff, or an operator) asked for at the end of the
    period: a downgrade, fewer seats or the other billing cycle. Nothing changes until
    ``effective``, the first day of the next period, when the renewal starts that period
    on the new plan instead (``services.scheduled_changes``). At most one is scheduled
    per organisation; the rows stay as its history."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        APPLIED = "applied", _("Applied")
        CANCELLED = "cancelled", _("Cancelled")
        # Its day came but it could no longer be made (e.g. the catalogue changed):
        # the subscription renewed as it was, and the customer was told why.
        NOT_APPLIED = "not_applied", _("Not applied")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="scheduled_changes",
        verbose_name=_("organisation"),
    )
    # Who stays active when active users exceed the new seats: chosen when scheduling,
    # checked again when the change applies.
    keep_user_ids = models.JSONField(_("users kept"), default=list, blank=True)
    effective = models.DateField(_("effective"), help_text=_("The first day of the new period."))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED
    )
    actor_kind = models.CharField(_("actor kind"), max_length=10)
    actor_id = models.BigIntegerField(_("actor ID"), null=True, blank=True)
    actor_email = models.CharField(_("scheduled by"), max_length=254, blank=True)
    # The confirmation form's key: the same form sent twice schedules once (NULL, not "":
    # changes scheduled without a key must not clash in the unique constraint).
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=64, null=True, blank=True
    )
    created_at = models.DateTimeField(_("scheduled"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.CharField(_("resolved by"), max_length=254, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Applied: the change it became. Cancelled by an immediate change: that change.
    plan_change = models.ForeignKey(
        PlanChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scheduled_changes",
        verbose_name=_("plan change"),
    )
    reminded_on = models.DateField(_("reminder sent"), null=True, blank=True)
    # The language it was scheduled in: the emails sent about it later (the reminder, the
    # change applied or set aside) are written in it.
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(status="scheduled"),
                name="subscriptions_one_scheduled_change",
            ),
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="subscriptions_scheduled_change_idempotent",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(organisation)s: %(plan)s on %(date)s") % {
            "organisation": self.organisation,
            "plan": self.to_plan,
            "date": date_format(self.effective, "DATE_FORMAT"),
        }

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.SCHEDULED
