"""The services that take money or give it back commit on their own: inside a caller's
transaction they refuse (``RuntimeError``) before writing anything, so that "the charge is
the last write" holds whoever calls them. (Each test runs inside the test harness's own
transaction, which Django lets a durable block nest in; the caller's is another.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from audit.models import AuditEvent
from subscriptions.models import LedgerLine, PlanChange, RefundRequest, RefundStatus
from subscriptions.services import changes, plan_changes, refunds
from subscriptions.services.billing import run_billing
from tests.conftest import Site

DURABLE = "durable atomic block cannot be nested"


def _rows() -> tuple[int, int, int, int]:
    return (
        PlanChange.objects.count(),
        RefundRequest.objects.count(),
        LedgerLine.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("at_period_end", [False, True], ids=["now", "at-period-end"])
def test_a_change_made_now_refuses_a_callers_transaction(
    northwind: Site, at_period_end: bool
) -> None:
    before = _rows()
    with transaction.atomic():
        if at_period_end:  # scheduling takes no money: a caller may wrap it
            changes.confirm_change(
                northwind.organisation, "professional", at_period_end=True, acting_user=None
            )
            transaction.set_rollback(True)
        else:
            with pytest.raises(RuntimeError, match=DURABLE):
                changes.confirm_change(
                    northwind.organisation, "enterprise", at_period_end=False, acting_user=None
                )
    assert _rows() == before


def test_a_refund_decision_refuses_a_callers_transaction(northwind: Site) -> None:
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    refund = refunds.request_refund(change, acting_user=northwind.user("primary"))
    before = _rows()
    with transaction.atomic(), pytest.raises(RuntimeError, match=DURABLE):
        refunds.approve_refund(refund, acting_user=None)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert _rows() == before
    refunds.approve_refund(refund, acting_user=None)  # on its own, it is made
    refund.refresh_from_db()
    assert refund.status == RefundStatus.APPROVED


def test_a_billing_run_refuses_a_callers_transaction(northwind: Site) -> None:
    subscription = northwind.organisation.subscription
    before = _rows()
    with transaction.atomic(), pytest.raises(RuntimeError, match=DURABLE):
        run_billing(subscription.period_end + timedelta(days=1))
    assert _rows() == before
