"""The payment seam: how a change's invoice is charged (its total: the amount due and its
tax).

``SUBSCRIPTIONS_PAYMENT_GATEWAY`` names a class with a ``charge`` method (see
``PaymentGateway``, which states the contract): Stripe's, ``stripe_gateway.StripeGateway``,
or the default, ``RecordOnlyGateway``, which records the charge with a local reference and
takes no money (``manage.py check --deploy`` warns about it with DEBUG off:
``subscriptions.checks``; the production server refuses it unless the deployment is a demo).
The setting is read on every call, so a changed setting applies at once.

``change_plan`` charges inside the change's transaction, after the subscription row is
locked, every check that can refuse the change has passed and everything the change
writes is written: the charge is the last step before the commit, so whatever can still
refuse or fail does so before money is taken, and a ``PaymentFailed`` rolls the whole
change back.
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

    ``charge`` takes ``amount`` (a ``Decimal`` > 0 in ``currency``'s minor unit: the
    total of the change's invoice, tax included) from ``organisation`` and returns the
    processor's reference (at most 100 characters), or raises
    ``subscriptions.exceptions.PaymentFailed`` when the processor says no money was taken
    (declined, refused, invalid card): for example
    ``PaymentFailed(amount=format_amount(amount, currency), reason="card declined")``.
    The change is then rolled back, and the customer sees the message (status 402).

    Any other exception means the gateway does not know whether money moved (a timeout,
    a dropped connection). It is not turned into ``PaymentFailed``: that would tell the
    customer that nothing happened and invite a second attempt under a new key. It
    propagates instead (the change is rolled back, the request fails with a server
    error), and a retry of the same request sends the same ``idempotency_key``.

    ``idempotency_key`` (at most 100 characters) names this charge at the processor;
    send it as the processor's idempotency key (Stripe's ``Idempotency-Key`` header) so
    that a charge sent again with the same key is taken once and answered as the first
    time. It is unique across organisations (a processor account is shared by all of
    them) and the same for every attempt of one change: the caller's key when one was
    given (the Store and the admin give one per confirmation form), else one derived
    from the change and the subscription's state (``charge_key``). A processor that
    remembers a refusal under its key (Stripe does, for about a day) answers a retry of
    the same change the same way: to try again after a refusal, the customer confirms
    the change anew (the Store's page gives a new key).

    ``takes_money`` is False only for a gateway that takes none (production refuses it
    unless the deployment is a demo: ``portal.production``); a real one need not say it.
    """

    takes_money: bool

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
    """Takes no money: returns a reference so the charge is traceable on the change."""

    takes_money = False

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
