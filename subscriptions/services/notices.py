"""Emails to an organisation's primary contact about its subscription, and every invoice and
return invoice to its billing addresses. They leave through the queue once the change that
caused them commits (``portal.emails``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import User
from portal.emails import dear, dear_billing_contact, send_after_commit
from portal.models import Organisation
from portal.selectors import organisation_url
from subscriptions.models import Invoice
from subscriptions.selectors.invoices import billing_recipients


def primary_contact_email(organisation: Organisation) -> str:
    """The address of the organisation's primary contact ("" if it has none)."""
    return primary_contact(organisation)[0]


def primary_contact(organisation: Organisation) -> tuple[str, str]:
    """The address and name of the organisation's primary contact (empty if none, or if
    the organisation was deleted: its people are forgotten)."""
    if organisation.deleted_on is not None:
        return "", ""
    with tenant_context(organisation):
        contact = (
            User.objects.filter(is_primary_contact=True).values_list("email", "full_name").first()
        )
    return contact or ("", "")


def tell_primary_contact(
    organisation: Organisation, template: str, *, language: str | None = None, **context: Any
) -> None:
    """Email ``subscriptions/email/<template>_{subject,message}.txt`` to the primary
    contact, with the organisation and its site in the context, in ``language`` (default:
    the active one, the request's)."""
    email, name = primary_contact(organisation)
    with translation.override(language or translation.get_language()):
        send_after_commit(
            f"subscriptions/email/{template}",
            [email],
            {"organisation": organisation, "site": organisation_url(organisation), **context},
            salutation=dear(name),
        )


def send_document(
    organisation: Organisation,
    document: Invoice,
    *,
    language: str | None = None,
    to_primary_contact: bool = True,
) -> None:
    """Email an invoice or a return invoice (its number, date, total and link) to the
    organisation's billing addresses, and to its primary contact unless another email of the
    same change told them already (``to_primary_contact``)."""
    primary = primary_contact_email(organisation)
    recipients = billing_recipients(organisation, primary)
    if not to_primary_contact:
        recipients = [address for address in recipients if address != primary]
    if not recipients:
        return
    link = organisation_url(
        organisation,
        reverse("store_invoice", args=[document.number], urlconf=settings.ROOT_URLCONF),
    )
    with translation.override(language or translation.get_language()):
        send_after_commit(
            "subscriptions/email/document",
            recipients,
            {"organisation": organisation, "document": document, "link": link},
            salutation=dear_billing_contact(organisation.name),
        )


def tell_billing_contacts(
    organisation: Organisation, template: str, *, language: str | None = None, **context: Any
) -> None:
    """As ``tell_primary_contact``, to the primary contact and the billing addresses."""
    recipients = billing_recipients(organisation, primary_contact_email(organisation))
    with translation.override(language or translation.get_language()):
        send_after_commit(
            f"subscriptions/email/{template}",
            [address for address in recipients if address],
            {"organisation": organisation, "site": organisation_url(organisation), **context},
            salutation=dear_billing_contact(organisation.name),
        )
