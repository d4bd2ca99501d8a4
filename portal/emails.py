"""Emails leave only after the transaction that caused them commits, through the job
queue (``portal.tasks.send_email``), which retries while the SMTP server is down. Each is a
letter: it opens with its addressee (「○○様」), is sent by the vendor (its name in the
email's language, ``vendor_name``) and closes with the vendor's signature."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from portal.queue import defer_with_transaction
from portal.tasks import send_email


def vendor_name() -> str:
    """The vendor's name as an email in the active language signs it
    (``PORTAL_VENDOR_NAMES``: a name per language, English the fallback)."""
    names = settings.PORTAL_VENDOR_NAMES
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return str(names.get(language) or names["en"])


def sender() -> str:
    """The From header: the vendor's name (quoted; the mail library encodes it) and
    ``DEFAULT_FROM_EMAIL``'s address."""
    name = vendor_name().replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}>'


def send_after_commit(
    template_prefix: str, to: list[str], context: dict[str, Any], *, salutation: str = ""
) -> None:
    """Render ``<prefix>_subject.txt`` and ``<prefix>_message.txt`` now (in the active
    language) as a letter opening with ``salutation`` (``dear`` a person,
    ``dear_billing_contact`` of an organisation; none: a greeting to whoever reads it) and
    signed by the vendor, and queue it to be sent once the current transaction commits; a
    rolled-back change sends nothing. A worker sends them, retrying while SMTP fails.
    Nothing is sent to an address at ``.invalid``."""
    # An address at ``.invalid`` (RFC 2606) is nobody's: a deleted organisation's people.
    recipients = [address for address in to if address and not address.endswith(".invalid")]
    if not recipients:
        return
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    body = render_to_string(f"{template_prefix}_message.txt", context).strip()
    letter = {"salutation": salutation, "body": body, "vendor": vendor_name()}
    defer_with_transaction(
        send_email,
        subject=subject,
        body=render_to_string("portal/email/letter.txt", letter),
        to=recipients,
        sender=sender(),
    )


def dear(name: str) -> str:
    """The salutation of a letter to a person (「佐藤 花子様」); to whoever reads it when the
    name is unknown."""
    if not name.strip():
        return ""
    return translation.gettext("Dear %(name)s,") % {"name": name.strip()}


def dear_billing_contact(organisation_name: str) -> str:
    """The salutation of a letter to an organisation's billing addresses (whoever reads
    them): 「株式会社さくら商事　ご担当者様」."""
    return translation.gettext("Dear billing contact of %(organisation)s,") % {
        "organisation": organisation_name
    }
