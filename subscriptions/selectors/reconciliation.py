"""The ledger against the payment provider: every payment the portal recorded (a change's
PaymentIntent) must have been taken at the provider for what the change's documents charge,
and every payment the provider took from one of the portal's customers must be in the
ledger. Reads only; ``manage.py reconcile_payments`` prints it."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import Organisation
from subscriptions.models import PaymentAccount, PlanChange
from subscriptions.money import format_amount
from subscriptions.selectors.invoices import documents_of_change
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
    """Compare the changes paid through the provider (``PlanChange.payment_reference``) with
    the provider's succeeded PaymentIntents of the portal's customers (one organisation's,
    or every one's)."""
    accounts = PaymentAccount.objects.select_related("organisation")
    changes = PlanChange.objects.filter(payment_reference__startswith="pi_")
    if organisation is not None:
        accounts = accounts.filter(organisation=organisation)
        changes = changes.filter(organisation=organisation)
    customers = {account.customer_id: account.organisation.slug for account in accounts}
    ours = {change.payment_reference: change for change in changes.select_related("organisation")}
    theirs = {
        intent.id: intent
        for intent in client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.status == "succeeded" and (intent.customer in customers or intent.id in ours)
    }
    differences, matched = [], 0
    for reference, change in sorted(ours.items()):
        slug, intent = change.organisation.slug, theirs.get(reference)
        expected = documents_of_change(change).charged
        if intent is None:
            differences.append(
                Difference(slug, reference, "in the ledger, not taken by the provider")
            )
        elif intent.amount != minor_units(expected, change.currency):
            taken = f"{intent.amount} {intent.currency.upper()}"
            ledger = format_amount(expected, change.currency)
            what = f"the provider took {taken}, the ledger says {ledger}"
            differences.append(Difference(slug, reference, what))
        else:
            matched += 1
    for reference, intent in sorted(theirs.items()):
        if reference not in ours:
            taken = f"{intent.amount} {intent.currency.upper()}"
            what = f"taken by the provider ({taken}), not in the ledger"
            differences.append(
                Difference(customers.get(str(intent.customer), "?"), reference, what)
            )
    return Reconciliation(matched, differences)
