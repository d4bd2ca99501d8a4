"""The payment seam: how an upgrade's amount due is charged.

A real payment processor is outside this product. ``SUBSCRIPTIONS_PAYMENT_GATEWAY`` names
a class with a ``charge`` method (see ``PaymentGateway``); the default records the charge
with a local reference and takes no money. A gateway that raises ``PaymentFailed`` makes
the plan change fail as a whole. The gateway is called inside the plan change's
transaction, after the subscription row is locked, so a charge is attempted once per
applied change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from portal.models import Organisation


@dataclass(frozen=True)
class Charge:
    reference: str


class PaymentGateway(Protocol):
    def charge(
        self, *, organisation: Organisation, amount: Decimal, currency: str, description: str
    ) -> Charge:
        """Take ``amount`` or raise ``subscriptions.exceptions.PaymentFailed``."""
        ...


class RecordOnlyGateway:
    """Takes no money: returns a reference so the charge is traceable on the change."""

    def charge(
        self, *, organisation: Organisation, amount: Decimal, currency: str, description: str
    ) -> Charge:
        return Charge(reference=f"recorded-{uuid.uuid4().hex[:16]}")


def payment_gateway() -> PaymentGateway:
    gateway_class = import_string(settings.SUBSCRIPTIONS_PAYMENT_GATEWAY)
    return gateway_class()
