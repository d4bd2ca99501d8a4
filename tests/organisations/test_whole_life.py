"""One organisation's whole life, from its sign-up to its deletion, and what remains of it:
signed up on the public site (a trial), a plan chosen during the trial (paid, invoiced),
closed by its primary contact at the end of the paid period (the test clock walks there),
its data taken away from its closed site, deleted by the daily job once its grace period
ended. Run with ``-s`` to read what remains (the closing note of issue 25 quotes it)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.core import serializers
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from audit.models import AuditEvent
from organisations import retention
from organisations.models import DataExport, Deletion
from portal import clock
from portal.models import Organisation, SignUp
from subscriptions.models import Invoice, LedgerLine, PlanChange, Subscription
from subscriptions.services import plan_changes
from tests.conftest import send_queued_emails
from tests.organisations.test_exports import _run_export_jobs
from tests.organisations.test_signups import form, provision_queued, public_client

pytestmark = pytest.mark.django_db


def _advance(slug: str, day: object) -> str:
    out = io.StringIO()
    call_command("clock", "advance", "--org", slug, "--to", str(day), stdout=out)
    return out.getvalue()


def _link(pattern: str) -> str:
    bodies = "".join(str(email.body) for email in send_queued_emails())
    [link] = re.findall(pattern, bodies)
    return link


def test_an_organisation_from_its_sign_up_to_its_deletion(catalogue: None) -> None:
    # Signed up on the public site: a trial, nothing paid.
    public = public_client()
    assert public.post("/signup/", form(address="inochi")).status_code == 302
    public.post(_link(r"http://\S+?(/signup/verify/\S+/)"), {"idempotency_key": "verify-1"})
    provision_queued()
    organisation = Organisation.objects.get(slug="inochi")
    subscription = Subscription.objects.get(organisation=organisation)
    assert subscription.on_trial and subscription.plan.code == "enterprise"
    site = Client(HTTP_HOST="inochi.localhost", HTTP_ACCEPT_LANGUAGE="en")
    with schema_context(organisation.schema_name):
        hana = User.objects.get(email="hana@sakura.test")
        site.force_login(hana)

    # A plan chosen during the trial: paid from that day, invoiced.
    plan_changes.change_plan(organisation, "professional", seats=5, acting_user=hana)
    assert Invoice.objects.filter(organisation=organisation).count() == 1

    # Closed by its primary contact at the end of the paid period; the clock walks there.
    closing = {"when": "period_end", "address": "inochi", "idempotency_key": "close-1"}
    assert site.post("/store/close/", closing).status_code == 302
    closes_on = Subscription.objects.get(organisation=organisation).closes_on
    assert closes_on is not None
    _advance("inochi", closes_on)
    organisation.refresh_from_db()
    assert organisation.closed_on == closes_on
    assert site.get("/").status_code == 410  # its site says it is closed

    # Its data taken away from its closed site (the link goes to its primary contact).
    send_queued_emails()
    asked = Client(HTTP_HOST="inochi.localhost").post("/export/", {"idempotency_key": "ex-1"})
    assert asked.status_code == 302
    _run_export_jobs()
    download = Client(HTTP_HOST="inochi.localhost").get(
        _link(r"http://inochi\.localhost:8000(/export/\S+/)")
    )
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert b"hana@sakura.test" in archive.read("users.csv")

    # Its grace period ended: the daily job deletes it.
    grace_end = closes_on + timedelta(days=30)
    _advance("inochi", grace_end - timedelta(days=1))
    assert retention.forget().organisations == []
    _advance("inochi", grace_end)
    assert retention.forget().organisations == ["inochi"]

    # What remains.
    remains = Organisation.all_objects.get(pk=organisation.pk)
    deletion = Deletion.objects.get(organisation=remains)
    invoices = Invoice.objects.filter(organisation=remains).order_by("number")
    events = AuditEvent.objects.filter(organisation=remains).order_by("created_at", "id")
    rows = "".join(
        serializers.serialize("json", model.objects.filter(organisation=remains))
        for model in (SignUp, PlanChange, DataExport, AuditEvent)
    )
    assert not schema_exists(organisation.schema_name) and remains.deleted_on == grace_end
    assert "hana" not in rows.lower() and "佐藤" not in rows
    assert Client(HTTP_HOST="inochi.localhost").get("/").status_code == 404
    sign_up = SignUp.objects.get(organisation=remains)
    assert (sign_up.email, sign_up.full_name, sign_up.ip_address, sign_up.password) == (
        f"user-{hana.pk}@deleted.invalid",
        "",
        None,
        "",
    )
    assert [invoice.buyer_name for invoice in invoices] == ["Sakura Support"]
    assert LedgerLine.objects.filter(organisation=remains).exists()
    print(
        f"\nOrganisation #{remains.pk} {remains.name!r}: address {remains.slug!r} "
        f"(was {deletion.former_slug!r}, free again on {deletion.address_free_on}), "
        f"closed on {remains.closed_on}, deleted on {remains.deleted_on}, schema "
        f"{organisation.schema_name} dropped: {not schema_exists(organisation.schema_name)}"
    )
    print(f"Sign-up: {sign_up.email}, name {sign_up.full_name!r}, IP {sign_up.ip_address}")
    for invoice in invoices:
        print(f"Invoice {invoice.number} {invoice.issued_on} {invoice.buyer_name} {invoice.total}")
    print(f"Ledger lines: {LedgerLine.objects.filter(organisation=remains).count()}")
    for event in events:
        print(f"Audit: {event.action:32} {event.actor_kind:8} {event.actor_email}")
    assert clock.today(remains) == grace_end
