"""The plan's answers to accounts (``accounts.limits.Limits``): seats and departments from
the organisation's entitlements, the subscription row's lock, the count of seats in use."""

from __future__ import annotations

from portal.models import Organisation
from subscriptions.selectors.entitlements import entitlements_for, seats_in_use
from subscriptions.services.locks import lock_subscription
from subscriptions.services.seats import record_seats_in_use


class PlanLimits:
    def lock(self, organisation: Organisation) -> None:
        lock_subscription(organisation)

    def seats(self, organisation: Organisation) -> int:
        return entitlements_for(organisation).seats

    def departments(self, organisation: Organisation) -> int | None:
        return entitlements_for(organisation).limit("departments")

    def seats_in_use(self, organisation: Organisation) -> int:
        return seats_in_use(organisation)

    def record_seats_in_use(self, organisation: Organisation, used: int) -> None:
        record_seats_in_use(organisation, used)
