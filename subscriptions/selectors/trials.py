"""Trials as pages show them: the trial a sign-up starts (the settings), and an
organisation's: the plan tried, the days left and the day it falls back to Free
(``services.trials`` extends and ends trials)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from portal import clock
from portal.models import Organisation
from subscriptions.models import Plan, Subscription
from subscriptions.selectors.catalogue import plan_names
from subscriptions.selectors.entitlements import subscription_of


@dataclass(frozen=True)
class TrialTerms:
    """What a new organisation's trial is: its plan, its days and its seats."""

    plan_code: str
    days: int
    seats: int

    @property
    def plan_name(self) -> str:
        """The plan's name in the active language (from the shared cache)."""
        return plan_names()[self.plan_code]


def trial_terms() -> TrialTerms | None:
    """The trial a sign-up starts, from the settings; None when trials are off."""
    days = settings.SUBSCRIPTIONS_TRIAL_DAYS
    if days <= 0:
        return None
    return TrialTerms(settings.SUBSCRIPTIONS_TRIAL_PLAN, days, settings.SUBSCRIPTIONS_TRIAL_SEATS)


@dataclass(frozen=True)
class Trial:
    plan: Plan
    days_left: int  # today included: 1 on its last day
    ends_on: date  # the first day on Free


def days_left(subscription: Subscription, today: date) -> int:
    """A trial's days left, today included (1 on its last day; 0 once it has ended)."""
    assert subscription.trial_ends_on is not None
    return max(0, (subscription.trial_ends_on - today).days)


def current_trial(organisation: Organisation) -> Trial | None:
    """The organisation's trial if it has one that has not ended (no query beyond the
    subscription, which the request reads once)."""
    subscription = subscription_of(organisation)
    if subscription.trial_ends_on is None:
        return None
    left = days_left(subscription, clock.today(organisation))
    if left == 0:  # ended: its renewal (the next change or billing run) moves it to Free
        return None
    return Trial(plan=subscription.plan, days_left=left, ends_on=subscription.trial_ends_on)
