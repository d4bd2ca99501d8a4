"""What the Store shows of an organisation's payments: its card on file."""

from __future__ import annotations

from portal.models import Organisation
from subscriptions.models import PaymentAccount


def payment_account_of(organisation: Organisation) -> PaymentAccount | None:
    """The organisation's account at the payment provider, or None (one query)."""
    return PaymentAccount.objects.filter(organisation=organisation).first()
