"""One clock (docs/domain.md, "One clock"): the day every page, quote, renewal, reminder,
invoice, job and command acts on.

In production it is the real date in ``TIME_ZONE``. For demos and staging, an organisation
may carry a **test clock**, as Stripe's test clocks do: ``Organisation.clock_date`` is then
its today everywhere (its pages, quotes, renewals, reminders and invoices), frozen there
until it is moved forward again (``manage.py clock advance``). Test clocks work only with
``PORTAL_TEST_CLOCKS`` (on while debugging; a production server refuses it unless
``SUBSCRIPTIONS_DEMO`` declares a demo): without it every organisation is on the real date,
whatever its row says. A clock never goes back: what it dated is in the append-only ledger.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import DateField, ExpressionWrapper, F, Q
from django.utils import timezone

from portal.models import Organisation


def test_clocks_on() -> bool:
    return bool(settings.PORTAL_TEST_CLOCKS)


def today(organisation: Organisation | None = None) -> date:
    """The day it is for ``organisation`` (its test clock's, when it has one), else the real
    date. No query: the clock is a field of the organisation's row."""
    if organisation is not None and organisation.clock_date is not None and test_clocks_on():
        return organisation.clock_date
    return timezone.localdate()


def is_closed(organisation: Organisation) -> bool:
    """Whether the organisation is closed as of its today (no query)."""
    return organisation.closed_on is not None and organisation.closed_on <= today(organisation)


def closed_export_until(organisation: Organisation) -> date | None:
    """The day a closed organisation's site stops offering its data
    (``PORTAL_CLOSED_EXPORT_DAYS`` after it closed); None if it is not closed."""
    if organisation.closed_on is None:
        return None
    return organisation.closed_on + timedelta(days=settings.PORTAL_CLOSED_EXPORT_DAYS)


def on_test_clock(organisation: Organisation | None) -> bool:
    """Whether ``organisation``'s pages should say that its days are a test clock's."""
    return organisation is not None and organisation.clock_date is not None and test_clocks_on()


def by_each_clock(
    field: str, lookup: str, *, organisation: str = "organisation", days: int = 0
) -> Q:
    """A filter comparing ``field`` with each row's organisation's today (``days`` later):
    ``by_each_clock("period_end", "lt")`` is "the period ended before its organisation's
    today". Without test clocks, the real date for every row."""
    real = timezone.localdate() + timedelta(days=days)
    if not test_clocks_on():
        return Q(**{f"{field}__{lookup}": real})
    clock = f"{organisation}__clock_date"
    its_day = ExpressionWrapper(F(clock) + timedelta(days=days), output_field=DateField())
    return Q(**{f"{clock}__isnull": True, f"{field}__{lookup}": real}) | Q(
        **{f"{clock}__isnull": False, f"{field}__{lookup}": its_day}
    )
