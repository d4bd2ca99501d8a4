"""Dunning (docs/domain.md, Collecting the money): a renewal whose payment is refused makes
the subscription past due; the payment is asked again on the days of
``SUBSCRIPTIONS_DUNNING_RETRY_DAYS`` after the renewal (default 1, 3, 5 and 7), each refusal
emailed to the primary contact and the billing addresses with the way to pay; after the
last one the organisation falls back to Free by the seed's downgrade rules, its unpaid
invoice void. ``run_billing`` runs it; a card put on file while past due pays at once."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts.models import User
from audit.services import Action, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import InvalidChoice, NoteRequired, NotPastDue
from subscriptions.models import Invoice, Payment, PaymentStatus, Subscription
from subscriptions.models.catalogue import FREE_PLAN
from subscriptions.selectors.catalogue import get_plan
from subscriptions.selectors.entitlements import forget_entitlements
from subscriptions.services import collection, notices
from subscriptions.services.collection import unpaid_invoices
from subscriptions.services.guards import require_staff
from subscriptions.services.locks import locked_subscription
from subscriptions.services.plan_changes import change_plan
from subscriptions.services.seats import kept_by_rule

logger = logging.getLogger(__name__)

FELL_BACK = "moved to Free after the last refused payment"
# The most days staff may add to a past-due organisation's grace at once.
MAX_EXTENSION = 30


def retry_days() -> list[int]:
    """The days after the renewal on which a refused payment is asked again."""
    return sorted(int(day) for day in settings.SUBSCRIPTIONS_DUNNING_RETRY_DAYS)


def _next_retry(since: date, refusals: int) -> date | None:
    """The day of the next attempt after ``refusals`` refused ones, or None after the last."""
    days = retry_days()
    return since + timedelta(days=days[refusals - 1]) if refusals <= len(days) else None


def _refusals(invoice: Invoice) -> int:
    return invoice.payments.filter(status=PaymentStatus.FAILED).count()


def refused(invoice: Invoice, payment: Payment, *, day: date) -> str:
    """A renewal's payment was refused: the subscription is past due from ``day`` (its
    first refusal), audited, and the billing contacts told how to pay and when the next
    attempt is (or that the organisation falls back to Free)."""
    organisation = invoice.organisation
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        if subscription.past_due_since is None:
            subscription.past_due_since = day
            subscription.save(update_fields=["past_due_since", "updated_at"])
        since, refusals = subscription.past_due_since, _refusals(invoice)
        next_retry = _next_retry(since, refusals)
        record(
            Action.PAYMENT_FAILED,
            acting_user=None,
            organisation=organisation,
            target=f"invoice:{invoice.number}",
            after={
                "invoice": invoice.number,
                "attempt": refusals,
                "reason": payment.reason,
                "next_retry": next_retry.isoformat() if next_retry else None,
            },
        )
        notices.tell_billing_contacts(
            organisation,
            "payment_failed",
            invoice=invoice,
            payment=payment,
            next_retry=next_retry,
        )
    return f"invoice {invoice.number} not paid: {payment.reason}"


def recovered(invoice: Invoice, payment: Payment) -> str:
    """A past-due invoice paid: the subscription is current again once nothing else is
    unpaid, audited."""
    organisation = invoice.organisation
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        if subscription.past_due_since is not None and not unpaid_invoices(organisation):
            subscription.past_due_since = None
            subscription.save(update_fields=["past_due_since", "updated_at"])
        record(
            Action.PAYMENT_RECOVERED,
            acting_user=None,
            organisation=organisation,
            target=f"invoice:{invoice.number}",
            after={"invoice": invoice.number, "reference": payment.reference},
        )
    return f"invoice {invoice.number} paid ({payment.reference})"


def pay_now(organisation: Organisation, *, day: date | None = None) -> list[Payment]:
    """Ask again, now, the payment of every unpaid invoice (a card just put on file, the
    customer's "pay now", staff's retry). Returns the payments made."""
    made = []
    for invoice in unpaid_invoices(organisation):
        payment = collection.collect(invoice, day=day or clock.today(organisation))
        if payment.status == PaymentStatus.PAID:
            recovered(invoice, payment)
        else:
            refused(invoice, payment, day=day or clock.today(organisation))
        made.append(payment)
    return made


def run_retries(today: date | None = None) -> list[tuple[str, str]]:
    """The attempts due: each past-due organisation's unpaid invoices asked again on their
    days, and the organisations whose last attempt was refused moved to Free. Reads only the
    past-due subscriptions. Returns what happened to each (slug, what)."""
    done = []
    # A closed organisation is asked for nothing more (its unpaid invoices stay open).
    past_due = Subscription.objects.filter(
        past_due_since__isnull=False, organisation__closed_on__isnull=True
    ).select_related("organisation")
    for subscription in past_due.order_by("pk"):
        organisation = subscription.organisation
        day = today or clock.today(organisation)
        since = subscription.past_due_since
        assert since is not None
        try:
            for invoice in unpaid_invoices(organisation):
                said = _attempt(invoice, since, day)
                done.extend(said)
                if said and said[-1][1] == FELL_BACK:  # its other unpaid invoices void too
                    break
        except Exception as error:  # reported; the others are still dunned
            logger.exception("Dunning %s failed", organisation.slug)
            done.append((organisation.slug, f"failed: {error}"))
    return done


def _attempt(invoice: Invoice, since: date, day: date) -> list[tuple[str, str]]:
    slug = invoice.organisation.slug
    due = _next_retry(since, _refusals(invoice))
    if due is None:  # every attempt refused
        return [(slug, fall_back_to_free(invoice.organisation, day=day))]
    if day < due:
        return []
    payment = collection.collect(invoice, day=day)
    if payment.status == PaymentStatus.PAID:
        return [(slug, recovered(invoice, payment))]
    said = [(slug, refused(invoice, payment, day=day))]
    if _next_retry(since, _refusals(invoice)) is None:
        said.append((slug, fall_back_to_free(invoice.organisation, day=day)))
    return said


def fall_back_to_free(organisation: Organisation, *, day: date) -> str:
    """After the last refused attempt: the organisation moves to Free by the seed's rules
    (nothing deleted; who keeps a seat by ``seats.kept_by_rule``), its unpaid invoices void
    with their return invoices (``change_plan`` does both, as for a customer
    who moves to Free while past due), audited, and the customer told."""
    keep = kept_by_rule(organisation, seats=_free_seats())
    change = change_plan(
        organisation, FREE_PLAN, acting_user=None, keep_user_ids=keep or None, today=day
    )
    with transaction.atomic():  # the change committed on its own (durable)
        record(
            Action.FELL_BACK_TO_FREE,
            acting_user=None,
            organisation=organisation,
            target=change,
            after={"kept_user_ids": keep, "deactivated_user_ids": change.deactivated_user_ids},
        )
        notices.tell_billing_contacts(organisation, "fell_back_to_free", change=change)
    return FELL_BACK


def _free_seats() -> int:
    return get_plan(FREE_PLAN).seat_cap or 1


# --- Staff on a past-due organisation (the admin's past-due page) --------------------------


def _staff_on_past_due(
    organisation: Organisation, acting_user: User | None, note: str | None
) -> Subscription:
    """Under the subscription's lock: the past-due subscription staff act on, or
    ``NotPastDue``; a note is required for what forgives (extend, waive)."""
    require_staff(acting_user, "subscriptions.change_subscription")
    subscription = locked_subscription(organisation)
    if subscription.past_due_since is None:
        raise NotPastDue(organisation=organisation.name)
    if note is not None and not note.strip():
        raise NoteRequired()
    return subscription


def retry_now(organisation: Organisation, *, acting_user: User | None) -> list[Payment]:
    """Staff ask the unpaid invoices' payment again now (audited), as a card put on file
    does; the schedule goes on if it is refused."""
    with transaction.atomic():
        _staff_on_past_due(organisation, acting_user, note=None)
        record(
            Action.PAYMENT_RETRIED,
            acting_user=acting_user,
            organisation=organisation,
            target=organisation,
        )
    return pay_now(organisation)


def extend(
    organisation: Organisation, *, days: int, note: str, acting_user: User | None
) -> Subscription:
    """Staff give a past-due organisation ``days`` more before each attempt and the fall
    back to Free (its past-due day moved later), with a note; audited."""
    if not 1 <= days <= MAX_EXTENSION:
        raise InvalidChoice(value=str(days), field="days", choices=f"1–{MAX_EXTENSION}")
    with transaction.atomic():
        subscription = _staff_on_past_due(organisation, acting_user, note=note)
        before = subscription.past_due_since
        assert before is not None
        subscription.past_due_since = before + timedelta(days=days)
        subscription.save(update_fields=["past_due_since", "updated_at"])
        record(
            Action.GRACE_EXTENDED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            before={"past_due_since": before.isoformat()},
            after={"past_due_since": subscription.past_due_since.isoformat(), "note": note},
        )
    return subscription


def waive(organisation: Organisation, *, note: str, acting_user: User | None) -> list[Invoice]:
    """Staff forgive the unpaid renewal, with a note: its invoices void (return invoices),
    the plan kept, the period counted as paid nothing (so nothing of it is refunded or
    credited later), no longer past due; audited. Returns the return invoices."""
    with transaction.atomic():
        subscription = _staff_on_past_due(organisation, acting_user, note=note)
        day = clock.today(organisation)
        voided = collection.void_unpaid(organisation, subscription, day=day)
        subscription.amount_paid = subscription.paid_value = Decimal(0)
        subscription.save_terms()
        record(
            Action.PAYMENT_WAIVED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            after={"voided": [document.number for document in voided], "note": note},
        )
    forget_entitlements(organisation)
    return voided
