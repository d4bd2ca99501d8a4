"""Emails to an organisation's primary contact about its subscription. They leave
through the queue once the change that caused them commits (``portal.emails``)."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import User
from portal.emails import send_after_commit
from portal.models import Organisation
from portal.selectors import organisation_url


def primary_contact_email(organisation: Organisation) -> str:
    """The address of the organisation's primary contact ("" if it has none)."""
    with tenant_context(organisation):
        contact = (
            User.objects.filter(is_primary_contact=True).values_list("email", flat=True).first()
        )
    return contact or ""


def tell_primary_contact(
    organisation: Organisation, template: str, *, language: str | None = None, **context: Any
) -> None:
    """Email ``subscriptions/email/<template>_{subject,message}.txt`` to the primary
    contact, with the organisation and its site in the context, in ``language`` (default:
    the active one, the request's)."""
    with translation.override(language or translation.get_language()):
        send_after_commit(
            f"subscriptions/email/{template}",
            [primary_contact_email(organisation)],
            {"organisation": organisation, "site": organisation_url(organisation), **context},
        )
