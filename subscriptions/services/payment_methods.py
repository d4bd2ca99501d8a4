"""The card on file: attached at the payment provider to the organisation's customer (made
on first use), made its default, and kept here as brand, last four digits and expiry."""

from __future__ import annotations

import logging

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from stripe.params import SetupIntentCreateParams

from accounts.models import User
from audit.services import Action, record
from portal.models import Organisation
from subscriptions.exceptions import CardRefused, ProviderUnavailable
from subscriptions.models import PaymentAccount, Subscription
from subscriptions.services import dunning
from subscriptions.services.guards import require_subscription_manager
from subscriptions.snapshots import card_snapshot
from subscriptions.stripe_gateway import client

logger = logging.getLogger(__name__)


def attach_card(
    organisation: Organisation, payment_method_id: str, *, acting_user: User | None
) -> PaymentAccount:
    """Make the provider's payment method ``payment_method_id`` (made by its card form, or
    by ``manage.py test_card``) the organisation's card on file, replacing any other;
    audited. ``CardRefused`` when the provider refuses the card; nothing changes then.
    While past due, the unpaid invoices are paid with it at once (``dunning.pay_now``)."""
    require_subscription_manager(organisation, acting_user)
    try:
        account = _attach(organisation, payment_method_id, acting_user=acting_user)
    except (stripe.APIConnectionError, stripe.APIError):
        raise ProviderUnavailable() from None
    if Subscription.objects.filter(organisation=organisation, past_due_since__isnull=False):
        try:
            dunning.pay_now(organisation)
        except Exception:  # the card is kept; the next billing run asks again
            logger.exception("Paying %s's unpaid invoices failed", organisation.slug)
    return account


def _attach(
    organisation: Organisation, payment_method_id: str, *, acting_user: User | None
) -> PaymentAccount:
    api = client()
    with transaction.atomic():
        account = (
            PaymentAccount.objects.select_for_update().filter(organisation=organisation).first()
        )
        if account is None:
            customer = api.v1.customers.create(
                params={"name": organisation.name, "metadata": {"organisation": organisation.slug}}
            )
            account = PaymentAccount(organisation=organisation, customer_id=customer.id)
        before = card_snapshot(account)
        try:
            method = api.v1.payment_methods.attach(
                payment_method_id, params={"customer": account.customer_id}
            )
        except stripe.CardError as error:
            raise CardRefused(reason=error.user_message or error.code or "card_error") from None
        except stripe.InvalidRequestError:
            raise CardRefused(reason=_("the provider knows no such card.")) from None
        api.v1.customers.update(
            account.customer_id,
            params={"invoice_settings": {"default_payment_method": method.id}},
        )
        card = method.card
        account.payment_method_id = method.id
        account.brand = card.brand if card else ""
        account.last4 = card.last4 if card else ""
        account.exp_month = card.exp_month if card else None
        account.exp_year = card.exp_year if card else None
        account.save()
        record(
            Action.PAYMENT_METHOD_CHANGED,
            acting_user=acting_user,
            organisation=organisation,
            target=account,
            before=before,
            after=card_snapshot(account),
        )
    return account


# Stripe's own test mode takes its test cards as these payment methods (raw numbers need
# an account enabled for them); the local provider takes the numbers.
STRIPE_TEST_METHODS = {
    "4242424242424242": "pm_card_visa",
    "4000000000000341": "pm_card_chargeCustomerFail",
    "4000002500003155": "pm_card_authenticationRequired",
    "4000000000000002": "pm_card_visa_chargeDeclined",
}


def test_payment_method(number: str, expires: str = "12/2034") -> str:
    """In test mode (the caller checks ``stripe_gateway.test_mode``): a payment method of
    the test card ``number`` to attach (``manage.py test_card``, the demo's cards).
    ``ValueError`` for a number or expiry the provider would not take."""
    if not settings.STRIPE_API_BASE:
        if number not in STRIPE_TEST_METHODS:
            raise ValueError(
                f"With Stripe's test keys, the test cards are {', '.join(STRIPE_TEST_METHODS)}."
            )
        return STRIPE_TEST_METHODS[number]
    month, _, year = expires.partition("/")
    if not (number.isdigit() and month.isdigit() and year.isdigit()):
        raise ValueError("Give the number as digits and the expiry as MM/YYYY.")
    method = client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": number,
                "exp_month": int(month),
                "exp_year": int(year),
                "cvc": "123",
            },
        }
    )
    return method.id


def start_card_setup() -> str:
    """A SetupIntent for the Store's card form, to be confirmed in the browser by the
    provider's script (3-D Secure there if the card asks): its client secret. Saves
    nothing here; ``attach_card`` keeps the card the form then sends.
    ``ProviderUnavailable`` when the provider cannot be reached."""
    try:
        intent = client().v1.setup_intents.create(
            params=SetupIntentCreateParams(usage="off_session")
        )
    except (stripe.APIConnectionError, stripe.APIError):
        raise ProviderUnavailable() from None
    assert intent.client_secret is not None
    return intent.client_secret
