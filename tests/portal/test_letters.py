"""Every email is a letter (portal/emails.py): it opens with its addressee (a person's name
with 様, an organisation's billing contact), is sent by the vendor (its name, in the email's
language, on the From header) and closes with the vendor's signature; a refund's status
email says what happens next."""

from __future__ import annotations

from email.utils import parseaddr

import pytest
from django.core.mail import EmailMessage
from django.utils import translation
from django_tenants.utils import schema_context

from accounts import services
from subscriptions.models import Invoice
from subscriptions.services import notices, plan_changes, refunds
from tests.conftest import Site, send_queued_emails
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _invite(site: Site, language: str) -> EmailMessage:
    with translation.override(language), schema_context(site.organisation.schema_name):
        services.invite_user(
            organisation=site.organisation,
            email="hanako@northwind.test",
            full_name="佐藤 花子",
            acting_user=site.user("admin"),
        )
    [message] = send_queued_emails()
    return message


@pytest.mark.parametrize(
    ("language", "greeting", "vendor", "signed"),
    [
        ("ja", "佐藤 花子様\n", "ヘルプデスクポータル", "このメールは自動送信です"),
        ("en", "Dear 佐藤 花子,\n", "Helpdesk Portal", "This message was sent automatically"),
    ],
)
def test_an_invitation_is_a_letter_to_its_person_from_the_vendor(
    northwind: Site, language: str, greeting: str, vendor: str, signed: str
) -> None:
    message = _invite(northwind, language)
    assert message.body.startswith(greeting)
    name, address = parseaddr(message.from_email)
    assert (name, address) == (vendor, "no-reply@localhost")
    closing = message.body.rstrip().splitlines()[-3:]
    assert closing == ["--", vendor, closing[-1]] and closing[-1].startswith(signed)
    assert "こんにちは" not in message.body and "Hello" not in message.body  # once


def test_the_vendor_is_named_by_the_settings(northwind: Site, settings) -> None:
    settings.PORTAL_VENDOR_NAMES = {"en": "Sakura Desk", "ja": "さくらデスク"}
    message = _invite(northwind, "ja")
    assert parseaddr(message.from_email)[0] == "さくらデスク"
    assert "\n--\nさくらデスク\n" in message.body


def test_a_document_is_addressed_to_the_organisations_billing_contact(northwind: Site) -> None:
    invoice = Invoice.objects.filter(organisation=northwind.organisation).first()
    assert invoice is not None
    with translation.override("ja"):
        notices.send_document(northwind.organisation, invoice)
    [document] = send_queued_emails()
    assert document.body.startswith("Northwind Inc.\u3000ご担当者様\n")
    # The primary contact's own emails are addressed to them by name.
    with translation.override("ja"):
        plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    [changed] = send_queued_emails()
    assert changed.body.startswith(f"{northwind.user('primary').full_name}様\n")


@pytest.mark.parametrize(
    ("decision", "next_step"),
    [("approve", "今後の流れ：その期間のお支払いに使われたカードに返金します"),
     ("reject", "今後の流れ：このプラン変更の返金は行われません")],
)  # fmt: skip
def test_a_refunds_status_email_says_what_happens_next(
    northwind: Site, decision: str, next_step: str
) -> None:
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(
        northwind.organisation, "professional", acting_user=None, keep_user_ids=keep
    )
    refund = refunds.request_refund(change, acting_user=northwind.user("primary"))
    send_queued_emails()
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    with translation.override("ja"):
        refunds.decide_refund(refund, decision, acting_user=staff, note="ご確認ください。")
    [message] = send_queued_emails()
    assert message.body.startswith(f"{northwind.user('primary').full_name}様\n")
    assert next_step in message.body and "ご確認ください。" in message.body
