"""Whether a prorated refund of a plan change may still be requested: the one rule the
change's page (which offers it) and ``services.refunds.request_refund`` (which makes it)
both read."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from subscriptions.exceptions import RefundAlreadyRequested, RefundNotAvailable, SubscriptionError
from subscriptions.models import PlanChange, RefundRequest


def refund_refusal(change: PlanChange, *, today: date) -> SubscriptionError | None:
    """Why a refund of ``change`` may not be requested on ``today``, or None: it has an
    amount to refund, its billing period has not ended, and none was requested yet (at
    most one query; none when the change's request was read already)."""
    if change.refund_quote <= 0:
        return RefundNotAvailable(reason=_("there is no amount to refund."))
    if today > change.period_end:
        return RefundNotAvailable(reason=_("the billing period of the change has ended."))
    try:
        change.refund_request  # noqa: B018 - read (and cached) by the reverse accessor
    except RefundRequest.DoesNotExist:
        return None
    return RefundAlreadyRequested()
