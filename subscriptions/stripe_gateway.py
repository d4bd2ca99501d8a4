"""Stripe behind the payment seam (``subscriptions.payments``), through Stripe's own Python
package: a customer per organisation, its card on file, and a PaymentIntent per payment,
confirmed off-session with the saved card under the payment's idempotency key (held and
captured for a change, taken at once for a renewal).

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
from subscriptions.exceptions import AuthenticationRequired, PaymentFailed, RefundNotPaid
from subscriptions.models import Payment, PaymentAccount
from subscriptions.money import CURRENCIES, format_amount
from subscriptions.payments import Charge


def test_mode() -> bool:
    """Whether payments go to a local provider or use Stripe's test keys: no real money."""
    return bool(settings.STRIPE_API_BASE) or settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def in_use() -> bool:
    """Whether the payment seam is Stripe's (``SUBSCRIPTIONS_PAYMENT_GATEWAY``)."""
    gateway = import_string(settings.SUBSCRIPTIONS_PAYMENT_GATEWAY)
    return isinstance(gateway, type) and issubclass(gateway, StripeGateway)


def test_payments() -> bool:
    """Whether payments go to the provider, in test mode: what the pages that take money
    say, and when the demo may give its organisations test cards."""
    return in_use() and test_mode()


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
    """Holds, captures and charges the organisation's card on file (``PaymentAccount``)."""

    takes_money = True

    @staticmethod
    def unmet() -> tuple[str, str] | None:
        """The setting production still needs for it and what it should hold, or None
        (``portal.production``)."""
        if not settings.STRIPE_SECRET_KEY:
            return ("STRIPE_SECRET_KEY", "the secret key of your Stripe account (sk_live_…)")
        return None

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
        shown = format_amount(amount, currency)
        if authenticated:
            return Charge(reference=_authenticated(organisation, authenticated, amount, currency))
        intent = _confirmed(organisation, amount, currency, description, idempotency_key, hold=True)
        if intent.status == "requires_action" and intent.client_secret:
            # Kept for the customer to confirm in the page; never taken unless they do and
            # the change is then made (an abandoned one lapses at the provider).
            raise AuthenticationRequired(
                amount=shown, client_secret=intent.client_secret, reference=intent.id
            )
        if intent.status != "requires_capture":
            self.release(intent.id)
            raise PaymentFailed(amount=shown, reason=_not_paid(intent))
        return Charge(reference=intent.id)

    def capture(self, reference: str) -> None:
        try:
            client().v1.payment_intents.capture(reference)
        except stripe.InvalidRequestError:
            # Captured already (a retry after a lost answer): taken once.
            if client().v1.payment_intents.retrieve(reference).status != "succeeded":
                raise

    def release(self, reference: str) -> None:
        try:
            client().v1.payment_intents.cancel(reference)
        except stripe.InvalidRequestError:
            if client().v1.payment_intents.retrieve(reference).status != "canceled":
                raise

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge:
        try:
            refunded = client().v1.refunds.create(
                params={"payment_intent": reference, "amount": minor_units(amount, currency)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            reason = error.user_message or str(error) or type(error).__name__
            raise RefundNotPaid(amount=format_amount(amount, currency), reason=reason) from None
        if refunded.status == "failed":
            raise RefundNotPaid(
                amount=format_amount(amount, currency), reason=_not_refunded(refunded)
            )
        return Charge(reference=refunded.id)

    def charge(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> Charge:
        intent = _confirmed(
            organisation, amount, currency, description, idempotency_key, hold=False
        )
        if intent.status != "succeeded":
            if intent.status == "requires_action":
                self.release(intent.id)
            raise PaymentFailed(amount=format_amount(amount, currency), reason=_not_paid(intent))
        return Charge(reference=intent.id)


def _authenticated(
    organisation: Organisation, reference: str, amount: Decimal, currency: str
) -> str:
    """The hold the customer confirmed in the page (3-D Secure), if it is one this change
    may use: held for this organisation's customer, for this amount, and not used yet.
    Else ``PaymentFailed`` (a hold of theirs for other figures is let go)."""
    shown = format_amount(amount, currency)
    refused = PaymentFailed(amount=shown, reason=_("the confirmed payment is not this change's."))
    account = PaymentAccount.objects.filter(organisation=organisation).first()
    if account is None or Payment.objects.filter(reference=reference).exists():
        raise refused
    try:
        intent = client().v1.payment_intents.retrieve(reference)
    except stripe.InvalidRequestError:
        raise refused from None
    if intent.customer != account.customer_id:
        raise refused
    if intent.status != "requires_capture":
        raise PaymentFailed(amount=shown, reason=_not_paid(intent))
    if (intent.amount, intent.currency) != (minor_units(amount, currency), currency.lower()):
        StripeGateway().release(reference)  # confirmed for figures that have changed since
        raise refused
    return reference


def _confirmed(
    organisation: Organisation,
    amount: Decimal,
    currency: str,
    description: str,
    idempotency_key: str,
    *,
    hold: bool,
) -> stripe.PaymentIntent:
    """A PaymentIntent for ``amount`` on the card on file, confirmed off-session: held
    (captured later) or taken. Stripe answers a request sent again under its key as the
    first time, for a day: when that first one was let go since (a change that failed after
    its hold), the payment is asked again under a key derived from the one let go."""
    shown = format_amount(amount, currency)
    account = PaymentAccount.objects.filter(organisation=organisation).first()
    if account is None or not account.has_card:
        raise PaymentFailed(amount=shown, reason=_no_card())
    params = _intent(account, amount, currency, description, organisation)
    if hold:
        params["capture_method"] = "manual"
    try:
        intent = client().v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
        if intent.status == "canceled":
            intent = client().v1.payment_intents.create(
                params=params, options={"idempotency_key": f"{idempotency_key}:after-{intent.id}"}
            )
    except stripe.CardError as error:
        raise PaymentFailed(amount=shown, reason=_declined(error)) from None
    return intent


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


def _not_refunded(refunded: stripe.Refund) -> str:
    return _("the provider did not pay it back (%(reason)s).") % {
        "reason": refunded.failure_reason or refunded.status
    }


def _no_card() -> str:
    return _("there is no card on file. Add one in the Store's payment method.")


def _declined(error: stripe.CardError) -> str:
    return _("the card was declined (%(code)s).") % {"code": error.code or "card_error"}


def _not_paid(intent: stripe.PaymentIntent) -> str:
    if intent.status == "requires_action":
        return _("the card asks for authentication (3-D Secure), which this payment could not do.")
    return _("the payment was not completed (%(status)s).") % {"status": intent.status}
