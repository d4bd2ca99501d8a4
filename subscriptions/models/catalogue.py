"""The plan catalogue, data that staff edit: plans and their prices, features, each
plan's value for each feature, and the allowed transitions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from subscriptions.money import Currency, format_amount


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")


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


FREE_PLAN = "free"


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

    @property
    def is_free(self) -> bool:
        """The plan without charge (``free``: docs/domain.md prices it 0 on both cycles, which
        ``tests/subscriptions/test_entitlements.py`` checks): no bill, no period to watch."""
        return self.code == FREE_PLAN


class PlanPrice(models.Model):
    """What one agent seat costs per month on a plan, for a billing cycle and currency.
    Annual billing pays 12 months of its (cheaper) monthly rate at once."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="prices", verbose_name=_("plan")
    )
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
        rate = format_amount(self.per_seat_month, self.currency)
        return f"{self.plan} — {self.get_cycle_display()}, {rate}"


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

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="features", verbose_name=_("plan")
    )
    feature = models.ForeignKey(
        Feature, on_delete=models.CASCADE, related_name="plan_values", verbose_name=_("feature")
    )
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

    from_plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="transitions_out", verbose_name=_("from plan")
    )
    to_plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="transitions_in", verbose_name=_("to plan")
    )
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
