"""The payment seam: how an invoice is paid (its total: the amount due and its tax).

``SUBSCRIPTIONS_PAYMENT_GATEWAY`` names a class that keeps ``PaymentGateway``'s contract:
Stripe's, ``stripe_gateway.StripeGateway``, or the default, ``RecordOnlyGateway``, which
records payments with a local reference and takes no money (``manage.py check --deploy``
warns about it with DEBUG off: ``subscriptions.checks``; the production server refuses it
unless the deployment is a demo). The setting is read on every call, so a changed setting
applies at once.

A change is paid in two steps, so that money is never taken for a change that was not made
(``services.collection``): inside the change's transaction, as its last step, the amount is
**held** on the card (a refusal rolls the change back); once the change is committed the
hold is **captured**. A change that fails after the hold (the database gone at the commit)
**releases** it. A renewal, committed before it is paid, is **charged** at once, off-session.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from portal.models import Organisation
from subscriptions.models import PlanChange

if TYPE_CHECKING:
    from subscriptions.selectors.previews import PlanChangePreview


@dataclass(frozen=True)
class Charge:
    reference: str


class PaymentGateway(Protocol):
    """What a gateway promises.

    ``hold`` reserves ``amount`` (a ``Decimal`` > 0 in ``currency``: the invoice's total,
    tax included, less any credit given back with it) on ``organisation``'s card and returns
    the processor's reference (at most 100 characters); ``charge`` takes it at once, off-
    session (a renewal's). Either raises ``subscriptions.exceptions.PaymentFailed`` when the
    processor says no money was taken or held (declined, refused, no card, authentication
    needed): for example ``PaymentFailed(amount=format_amount(amount, currency),
    reason="card declined")``. A change is then rolled back, and the customer sees the
    message (status 402); a renewal stays unpaid (past due, ``services.dunning``).

    Any other exception means the gateway does not know whether money moved (a timeout,
    a dropped connection). It is not turned into ``PaymentFailed``: that would tell the
    customer that nothing happened and invite a second attempt under a new key. It
    propagates instead, and a retry of the same request sends the same
    ``idempotency_key``.

    ``idempotency_key`` (at most 100 characters) names the payment at the processor; send
    it as the processor's idempotency key (Stripe's ``Idempotency-Key`` header) so that a
    request sent again with the same key is answered as the first time. It is unique
    across organisations (a processor account is shared by all of them) and the same for
    every attempt of one payment: for a change, the caller's key when one was given (the
    Store and the admin give one per confirmation form), else one derived from the change
    and the subscription's state (``charge_key``); for a renewal, its invoice and attempt.

    ``hold`` is asked while the customer is in the page (the Store) or not (the admin, a
    command): when the card asks for authentication (3-D Secure) it raises
    ``AuthenticationRequired`` with what the page needs to have the customer confirm it, and
    the Store sends the change again with ``authenticated`` (the reference of the hold they
    confirmed): the gateway then checks that hold (this organisation's, this amount, held
    and not used) and answers with it instead of asking again.

    ``capture(reference)`` takes a held amount (taking it twice takes it once) and
    ``release(reference)`` lets a hold go (releasing one already gone does nothing).

    ``refund`` pays ``amount`` back against the payment ``reference`` (never more than it
    took: the caller counts) under its ``idempotency_key`` and returns the refund's
    reference, or raises ``subscriptions.exceptions.RefundNotPaid`` with the processor's
    reason when nothing was paid back.

    ``takes_money`` is False only for a gateway that takes none (production refuses it
    unless the deployment is a demo: ``portal.production``); a real one need not say it.
    """

    takes_money: bool

    def hold(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
        authenticated: str = "",
    ) -> Charge: ...

    def capture(self, reference: str) -> None: ...

    def release(self, reference: str) -> None: ...

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge: ...

    def charge(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> Charge: ...


class RecordOnlyGateway:
    """Takes no money: returns a reference so that the payment is traceable."""

    takes_money = False

    def hold(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
        authenticated: str = "",
    ) -> Charge:
        return Charge(reference=f"recorded-{uuid.uuid4().hex[:16]}")

    def charge(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> Charge:
        return Charge(reference=f"recorded-{uuid.uuid4().hex[:16]}")

    def capture(self, reference: str) -> None:
        return None

    def release(self, reference: str) -> None:
        return None

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge:
        return Charge(reference=f"recorded-refund-{uuid.uuid4().hex[:16]}")


def payment_gateway() -> PaymentGateway:
    """A gateway of the class ``SUBSCRIPTIONS_PAYMENT_GATEWAY`` names (read now)."""
    gateway_class = import_string(settings.SUBSCRIPTIONS_PAYMENT_GATEWAY)
    return gateway_class()


def charge_key(preview: PlanChangePreview, *, given: str | None, today: date) -> str:
    """The idempotency key of the charge for the change ``preview`` describes, computed
    under the subscription's lock before the change writes anything.

    With a key ``given`` by the caller: that key, scoped by the organisation (callers'
    keys are unique per organisation only). Without one: a digest of what makes this
    change this change, so that a retry of it (after a failure once the charge was
    sent) gets the same key, while any other change gets another: the organisation,
    its latest applied change (every applied change adds one, so the same move made
    again later is another change), the current period, the move from and to (plan,
    cycle, seats), the day and the amount and currency charged."""
    scope = f"plan-change:{preview.organisation.pk}"
    if given:
        return f"{scope}:{given}"
    latest = (
        PlanChange.objects.filter(organisation=preview.organisation)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    facts = [
        latest,
        preview.subscription.period_start.isoformat(),
        [preview.from_plan.code, preview.from_cycle, preview.seats_before],
        [preview.to_plan.code, preview.to_cycle, preview.seats_after],
        today.isoformat(),
        str(preview.quote.due),
        preview.currency,
    ]
    digest = hashlib.sha256(json.dumps(facts).encode()).hexdigest()
    return f"{scope}:derived-{digest[:40]}"
