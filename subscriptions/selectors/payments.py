"""What the Store shows of an organisation's payments: its card on file, and whether a
change that costs money must ask for one first."""

from __future__ import annotations

from datetime import date

from portal.db.prepared import Prepared
from portal.models import Organisation
from subscriptions import stripe_gateway
from subscriptions.models import PaymentAccount, Subscription


def payment_account_of(organisation: Organisation) -> PaymentAccount | None:
    """The organisation's account at the payment provider, or None (one query)."""
    found = _PAYMENT_ACCOUNT.all(organisation=organisation)
    return found[0] if found else None


# The Store's home asks on every visit: its SQL is built once (portal/db/prepared.py).
_PAYMENT_ACCOUNT = Prepared(
    lambda organisation: PaymentAccount.objects.filter(organisation=organisation).order_by("pk")[:1]
)


def past_due_since(organisation: Organisation) -> date | None:
    """The renewal day whose payment is still refused, or None (one query)."""
    return (
        Subscription.objects.filter(organisation=organisation)
        .values_list("past_due_since", flat=True)
        .first()
    )


def needs_card(organisation: Organisation) -> bool:
    """Whether payments go through the provider and the organisation has no card on file
    (one query then)."""
    if not stripe_gateway.in_use():
        return False
    account = payment_account_of(organisation)
    return account is None or not account.has_card
