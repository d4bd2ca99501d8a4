"""What accounts asks of the organisation's plan: how many seats and departments it may have,
the lock that serialises changes counted against them, and the count of seats in use kept
for the plan. The subscriptions app answers (``subscriptions.limits.PlanLimits``, named by
the setting ``ACCOUNTS_LIMITS`` as allauth's adapters are): accounts stands below it and
imports nothing of it."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from portal.models import Organisation


class Limits(Protocol):
    def lock(self, organisation: Organisation) -> None:
        """Lock what the plan's limits are read from until the transaction ends (first in
        every change counted against them), forgetting what the request read before."""

    def seats(self, organisation: Organisation) -> int:
        """The seats the organisation's subscription licenses."""

    def departments(self, organisation: Organisation) -> int | None:
        """How many departments the plan allows (None: no limit; 0: none)."""

    def seats_in_use(self, organisation: Organisation) -> int:
        """The count of active users kept for the plan (``record_seats_in_use``)."""

    def record_seats_in_use(self, organisation: Organisation, used: int) -> None:
        """Within the change of who is active: keep ``used`` where the plan reads it."""


@cache
def limits() -> Limits:
    """The plan's answers (``settings.ACCOUNTS_LIMITS``)."""
    provider: type[Limits] = import_string(settings.ACCOUNTS_LIMITS)
    return provider()
