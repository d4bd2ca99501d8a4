"""Stripe behind the payment seam (``subscriptions.payments``), through Stripe's own Python
package: a customer per organisation, its card on file, and a PaymentIntent per charge, paid
off-session with the saved card under the change's idempotency key.

Settings: ``STRIPE_SECRET_KEY`` (and ``STRIPE_PUBLISHABLE_KEY`` for card forms); with
``STRIPE_API_BASE`` the SDK talks to a local provider instead of Stripe (localstripe, for
development and tests: ``subscriptions/local_provider.py``). Test mode (no real money): a
local provider, or a ``sk_test_`` key.
"""

from __future__ import annotations

from decimal import Decimal

import stripe
from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from stripe.params import PaymentIntentCreateParams

from portal.models import Organisation
from subscriptions.exceptions import PaymentFailed
from subscriptions.models import PaymentAccount
from subscriptions.money import CURRENCIES, format_amount
from subscriptions.payments import Charge


def test_mode() -> bool:
    """Whether payments go to a local provider or use Stripe's test keys: no real money."""
    return bool(settings.STRIPE_API_BASE) or settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def in_use() -> bool:
    """Whether the payment seam is Stripe's (``SUBSCRIPTIONS_PAYMENT_GATEWAY``)."""
    gateway = import_string(settings.SUBSCRIPTIONS_PAYMENT_GATEWAY)
    return isinstance(gateway, type) and issubclass(gateway, StripeGateway)


def client() -> stripe.StripeClient:
    """The SDK's client for the configured account (and local provider, if any)."""
    if settings.STRIPE_API_BASE:
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=0,
        )
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY)


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's smallest unit, as Stripe counts it (JPY 11000, USD 1100
    for 11.00)."""
    return int(amount.scaleb(CURRENCIES[currency].minor_units))


class StripeGateway:
    """Charges the organisation's card on file (``PaymentAccount``)."""

    takes_money = True

    @staticmethod
    def unmet() -> tuple[str, str] | None:
        """The setting production still needs for it and what it should hold, or None
        (``portal.production``)."""
        if not settings.STRIPE_SECRET_KEY:
            return ("STRIPE_SECRET_KEY", "the secret key of your Stripe account (sk_live_…)")
        return None

    def charge(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> Charge:
        shown = format_amount(amount, currency)
        account = PaymentAccount.objects.filter(organisation=organisation).first()
        if account is None or not account.has_card:
            raise PaymentFailed(amount=shown, reason=_no_card())
        try:
            intent = client().v1.payment_intents.create(
                params=_intent(account, amount, currency, description, organisation),
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            raise PaymentFailed(amount=shown, reason=_declined(error)) from None
        if intent.status != "succeeded":
            raise PaymentFailed(amount=shown, reason=_not_paid(intent.status))
        return Charge(reference=intent.id)


def _intent(
    account: PaymentAccount,
    amount: Decimal,
    currency: str,
    description: str,
    organisation: Organisation,
) -> PaymentIntentCreateParams:
    return {
        "amount": minor_units(amount, currency),
        "currency": currency.lower(),
        "customer": account.customer_id,
        "payment_method": account.payment_method_id,
        "off_session": True,
        "confirm": True,
        # In the metadata: the local provider refuses a description.
        "metadata": {"organisation": organisation.slug, "change": description},
    }


def _no_card() -> str:
    return _("there is no card on file. Add one in the Store's payment method.")


def _declined(error: stripe.CardError) -> str:
    return _("the card was declined (%(code)s).") % {"code": error.code or "card_error"}


def _not_paid(status: str) -> str:
    return _("the payment was not completed (%(status)s).") % {"status": status}
