"""Moving test clocks forward (``portal.clock``): an organisation's today, or every
organisation's, set to a later day, audited, then the billing run for the new days (the
renewals, scheduled changes and reminders that day brings), as a real day would bring them.
Demos and staging only: nothing here works unless ``PORTAL_TEST_CLOCKS`` is on."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q

from accounts.models import User
from audit.services import Action, record
from portal import clock, hosts
from portal.models import Organisation
from subscriptions.exceptions import ClockRefused
from subscriptions.services.billing import BillingRun, run_billing
from subscriptions.services.guards import require_staff

# How far ahead of the real date a clock may go: each day ahead is renewals booked into the
# append-only ledger, and a mistyped year would book decades.
FURTHEST = timedelta(days=3 * 366)


def advance_clock(
    organisation: Organisation | None, to: date, *, acting_user: User | None = None
) -> BillingRun:
    """Set ``organisation``'s test clock (every organisation's, with None) to ``to``, then
    run the billing due by the new days. Refused (``ClockRefused``, nothing changed) when
    test clocks are off, when ``to`` is before the organisation's today (a clock never goes
    back) or more than ``FURTHEST`` ahead of the real date. With every organisation, those
    whose clock is already later keep theirs."""
    require_staff(acting_user, "portal.change_organisation")
    if not clock.test_clocks_on():
        raise ClockRefused(reason=ClockRefused.OFF)
    real = clock.today()
    if to > real + FURTHEST:
        raise ClockRefused(reason=ClockRefused.TOO_FAR % {"latest": real + FURTHEST})
    with transaction.atomic():
        if organisation is not None:
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            before = clock.today(locked)
            if to < before:
                raise ClockRefused(reason=ClockRefused.BACKWARDS % {"today": before})
            locked.clock_date = to
            locked.save(update_fields=["clock_date"])  # forgets its host cache entries
            organisation.clock_date = to
            _record(locked, before, to, acting_user)
        else:
            if to < real:
                raise ClockRefused(reason=ClockRefused.BACKWARDS % {"today": real})
            Organisation.objects.filter(Q(clock_date__isnull=True) | Q(clock_date__lt=to)).update(
                clock_date=to
            )
            _record(None, real, to, acting_user)
            transaction.on_commit(hosts.forget_all)  # an update() saves no organisation
    return run_billing()


def _record(
    organisation: Organisation | None, before: date, after: date, acting_user: User | None
) -> None:
    record(
        Action.CLOCK_ADVANCED,
        acting_user=acting_user,
        organisation=organisation,
        target=organisation if organisation is not None else "clock:all",
        before={"today": before},
        after={"today": after},
    )
