"""The ledger against the payment provider: every payment the portal asked for (its
PaymentIntent) must be held or taken at the provider as the portal has it, for its amount,
and every payment the provider holds or took from one of the portal's customers must be in
the ledger. Reads only; ``manage.py reconcile_payments`` prints it."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from portal.models import Organisation
from subscriptions.models import Payment, PaymentAccount, PaymentStatus
from subscriptions.money import format_amount
from subscriptions.stripe_gateway import client, minor_units


@dataclass(frozen=True)
class Difference:
    organisation: str  # its slug
    reference: str  # the provider's payment
    what: str


@dataclass(frozen=True)
class Reconciliation:
    matched: int
    differences: list[Difference]


def reconcile_payments(organisation: Organisation | None = None) -> Reconciliation:
    """Compare the payments the portal asked of the provider (held or paid) with the
    provider's PaymentIntents of the portal's customers that hold or took money (one
    organisation's, or every one's)."""
    accounts = PaymentAccount.objects.select_related("organisation")
    payments = Payment.objects.filter(
        reference__startswith="pi_", status__in=[PaymentStatus.HELD, PaymentStatus.PAID]
    ).select_related("organisation")
    if organisation is not None:
        accounts = accounts.filter(organisation=organisation)
        payments = payments.filter(organisation=organisation)
    customers = {account.customer_id: account.organisation.slug for account in accounts}
    ours = {payment.reference: payment for payment in payments}
    theirs = {
        intent.id: intent
        for intent in client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.status in MOVED and (intent.customer in customers or intent.id in ours)
    }
    differences, matched = [], 0
    for reference, payment in sorted(ours.items()):
        slug, intent = payment.organisation.slug, theirs.get(reference)
        what = _difference(payment, intent)
        if what:
            differences.append(Difference(slug, reference, what))
        else:
            matched += 1
    for reference, intent in sorted(theirs.items()):
        if reference not in ours:
            taken = f"{intent.amount} {intent.currency.upper()}"
            what = (
                f"taken by the provider ({taken}), not in the ledger"
                if intent.status == "succeeded"
                else f"held by the provider ({taken}) for no change the portal made"
            )
            differences.append(
                Difference(customers.get(str(intent.customer), "?"), reference, what)
            )
    return Reconciliation(matched, differences)


# The PaymentIntents that hold or took money.
MOVED = {"succeeded": PaymentStatus.PAID, "requires_capture": PaymentStatus.HELD}


def _difference(payment: Payment, intent: stripe.PaymentIntent | None) -> str:
    if intent is None:
        return "in the ledger, not held or taken by the provider"
    if intent.amount != minor_units(payment.amount, payment.currency):
        taken = f"{intent.amount} {intent.currency.upper()}"
        ledger = format_amount(payment.amount, payment.currency)
        return f"the provider has {taken}, the ledger says {ledger}"
    if MOVED[intent.status] != payment.status:
        return (
            f"{payment.get_status_display().lower()} in the ledger, {intent.status} at the provider"
        )
    return ""
