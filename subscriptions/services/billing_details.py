"""Billing details (docs/domain.md): how an organisation's invoices are addressed and to whom
they are sent, set by the primary contact or a super admin. New invoices copy them; issued
ones never change."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.services import normalise_email
from audit.services import Action, record
from portal import names
from portal.models import Organisation
from portal.registration_numbers import refusal as registration_refusal
from subscriptions.exceptions import InvalidBillingDetails
from subscriptions.models import BillingDetails
from subscriptions.services.guards import require_subscription_manager

MAX_EMAILS = 5


def set_billing_details(
    organisation: Organisation,
    *,
    acting_user: User | None,
    addressee: str = "",
    attention: str = "",
    postal_address: str = "",
    emails: list[str] | None = None,
    registration_number: str = "",
) -> BillingDetails:
    """Set the organisation's billing details, audited. Refused (``InvalidBillingDetails``,
    with the reason; nothing changed): more than ``MAX_EMAILS`` addresses, an address that is
    none, a registration number whose shape or check digit is wrong."""
    require_subscription_manager(organisation, acting_user)
    clean_emails = list(dict.fromkeys(normalise_email(email) for email in emails or [] if email))
    if len(clean_emails) > MAX_EMAILS:
        raise InvalidBillingDetails(
            reason=InvalidBillingDetails.TOO_MANY_EMAILS % {"count": MAX_EMAILS}
        )
    number = registration_number.strip().upper()
    if number and (refused := registration_refusal(number)):
        raise InvalidBillingDetails(reason=refused)
    fields = {
        "addressee": names.tidy(addressee)[:100],
        "attention": names.tidy(attention)[:100],
        "postal_address": postal_address.strip()[:300],
        "emails": clean_emails,
        "registration_number": number,
    }
    with transaction.atomic():
        details, _created = BillingDetails.objects.select_for_update().get_or_create(
            organisation=organisation
        )
        before = {name: getattr(details, name) for name in fields}
        for name, value in fields.items():
            setattr(details, name, value)
        details.save()
        record(
            Action.BILLING_DETAILS_CHANGED,
            acting_user=acting_user,
            organisation=organisation,
            target=details,
            before=before,
            after=fields,
        )
    return details
