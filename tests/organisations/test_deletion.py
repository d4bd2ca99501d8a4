"""Deleting an organisation (organisations/deletion.py): after its closure's grace period (the
daily job), or at once on staff's or an operator's decision with a reason; its schema dropped,
its people forgotten in the public tables, its books kept and printable; its address free
again after a quarantine; ``manage.py delete_organisation`` idempotent and audited."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context, schema_exists, tenant_context

from accounts.models import User
from accounts.services import add_user
from audit.models import AuditEvent
from organisations import exports, retention
from organisations.deletion import delete_organisation, start_deletion
from organisations.exceptions import (
    DeletionReasonRequired,
    OrganisationAddressQuarantined,
    OrganisationDeleted,
    OrganisationNotClosed,
)
from organisations.models import DataExport, Deletion
from organisations.services import address_refusal, create_organisation
from portal import clock
from portal.db.postgresql_backend.base import DeletedSchemaChosen
from portal.exceptions import PermissionDenied
from portal.models import Domain, Organisation, SignUp
from subscriptions.models import (
    BillingDetails,
    Invoice,
    LedgerLine,
    PlanChange,
    RefundRequest,
    ScheduledChange,
)
from subscriptions.services import closing, plan_changes, refunds
from subscriptions.services.billing_details import set_billing_details
from tests.conftest import on, queued_emails
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


def _closed_shop(**close: Any) -> tuple[Organisation, Any, Any]:
    """An organisation that paid (invoices, ledger), with a second user, billing details, a
    downgrade by its primary contact with feedback in their words, closed by them (its
    refund requested): its people's addresses are in many public rows."""
    slug = f"sakujo-{next(_numbers)}"
    organisation, owner = make_organisation("standard", seats=3, slug=slug)
    with schema_context(organisation.schema_name), transaction.atomic():
        agent = add_user(email=f"Agent@{slug}.test", full_name="佐藤 花子", acting_user=owner)
    set_billing_details(
        organisation,
        acting_user=owner,
        addressee=f"{slug.title()} 株式会社",
        attention="経理部 田中様",
        postal_address="東京都千代田区1-1",
        emails=[f"billing@{slug}.test", f"owner@{slug}.test"],
    )
    plan_changes.change_plan(organisation, "professional", acting_user=owner)  # invoiced
    change = plan_changes.change_plan(organisation, "standard", acting_user=owner)
    plan_changes.share_feedback(
        change, reason="too_expensive", text="Too dear for us", acting_user=owner
    )
    closing.close_now(organisation, acting_user=owner, **close)
    return Organisation.objects.get(pk=organisation.pk), owner, agent


def _public_rows_of(organisation: Organisation) -> str:
    """Every public row that names the organisation, as JSON text."""
    models: list[type[Any]] = [
        SignUp,
        PlanChange,
        RefundRequest,
        ScheduledChange,
        DataExport,
        BillingDetails,
        AuditEvent,
    ]
    return "".join(
        serializers.serialize("json", model.objects.filter(organisation=organisation))
        for model in models
    )


def _books(organisation: Organisation) -> list[list[Any]]:
    return [
        list(Invoice.objects.filter(organisation=organisation).order_by("pk").values()),
        list(LedgerLine.objects.filter(organisation=organisation).order_by("pk").values()),
    ]


def _staff(**fields: Any) -> Client:
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(StaffFactory.create(**fields))
    return client


def test_a_deleted_organisation_forgets_its_people_and_keeps_its_books(catalogue: None) -> None:
    organisation, owner, agent = _closed_shop()
    slug, books = organisation.slug, _books(organisation)
    assert books[0] and f"@{slug}.test" in _public_rows_of(organisation).lower()

    deletion = delete_organisation(organisation, acting_user=None, reason="The customer asked")

    assert (deletion.step, deletion.early, deletion.former_slug) == ("done", True, slug)
    assert not Organisation.objects.filter(pk=organisation.pk).exists()  # not an organisation
    tombstone = Organisation.all_objects.get(pk=organisation.pk)  # a row kept for the books
    assert tombstone.deleted_on == clock.today()
    assert tombstone.slug == tombstone.schema_name == f"deleted_{organisation.pk}"
    assert not schema_exists(organisation.schema_name)
    assert not Domain.objects.filter(tenant=tombstone).exists()
    assert deletion.address_free_on == clock.today() + timedelta(days=90)
    # Nothing reaches it by its old address.
    assert Client(HTTP_HOST=f"{slug}.localhost").get("/").status_code == 404
    # Its books as they were, to the byte.
    assert _books(tombstone) == books
    # Its people are placeholders, the same person the same one everywhere.
    rows = _public_rows_of(tombstone)
    assert f"@{slug}.test" not in rows.lower() and "田中" not in rows and "Too dear" not in rows
    owner_is = f"user-{owner.pk}@deleted.invalid"
    changes = PlanChange.objects.filter(organisation=tombstone)
    assert {change.actor_email for change in changes} == {owner_is}
    assert RefundRequest.objects.get(organisation=tombstone).requested_by_email == owner_is
    events = AuditEvent.objects.filter(organisation=tombstone)
    assert {e.actor_email for e in events.filter(actor_kind="user")} == {owner_is}
    invited = events.get(action="user.added", target=f"user:{agent.pk}")
    assert invited.after["email"] == f"user-{agent.pk}@deleted.invalid"
    assert BillingDetails.objects.get(organisation=tombstone).emails == []
    # What happened stays in its log, said by whom.
    assert list(events.values_list("action", "actor_kind")[:2]) == [
        ("organisation.deleted", "command"),
        ("organisation.deletion_started", "command"),
    ]


def test_its_invoices_are_found_by_the_archive_and_printed_as_issued(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    first = Invoice.objects.filter(organisation=organisation, buyer_attention__gt="").first()
    assert first is not None  # the upgrade's, addressed as the billing details then said
    delete_organisation(organisation, acting_user=None, reason="The customer asked")
    staff = _staff(is_superuser=True)
    archive = staff.get(
        "/admin/subscriptions/invoice/",
        {
            "q": first.buyer_name,
            "issued_on__gte": str(first.issued_on),
            "total__gte": str(first.total),
        },
    )
    assert archive.status_code == 200 and first.number in archive.content.decode()
    printed = staff.get(f"/admin/subscriptions/invoice/{first.pk}/change/")
    assert printed.status_code == 200
    page = printed.content.decode()
    assert first.number in page and first.buyer_name in page and "経理部 田中様" in page


def test_an_open_organisation_is_deleted_only_when_forced_with_a_reason(catalogue: None) -> None:
    organisation, _owner = make_organisation("standard", slug=f"sakujo-{next(_numbers)}")
    with pytest.raises(OrganisationNotClosed):
        delete_organisation(organisation, acting_user=None)
    with pytest.raises(DeletionReasonRequired):
        delete_organisation(organisation, acting_user=None, force=True, reason="  ")
    organisation.refresh_from_db()
    assert organisation.closed_on is None and not Deletion.objects.exists()
    assert schema_exists(organisation.schema_name)

    delete_organisation(organisation, acting_user=None, force=True, reason="Fraud")
    organisation.refresh_from_db()
    assert organisation.closed_on == organisation.deleted_on == clock.today()


def test_before_its_grace_period_ends_a_reason_is_needed(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    with pytest.raises(DeletionReasonRequired):
        delete_organisation(organisation, acting_user=None)
    assert not Deletion.objects.filter(organisation=organisation).exists()


def test_the_daily_job_deletes_once_the_grace_period_ended(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    assert retention.forget().organisations == []  # its site still offers its data
    assert schema_exists(organisation.schema_name)
    with on(clock.today() + timedelta(days=30)):
        assert retention.forget().organisations == [organisation.slug]
        deletion = Deletion.objects.get(organisation=organisation)
        assert (deletion.step, deletion.early, deletion.reason) == ("done", False, "")
        assert retention.forget().organisations == []  # a second run finds nothing
    assert not schema_exists(organisation.schema_name)


def test_the_address_is_free_again_after_its_quarantine(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    slug = organisation.slug
    deletion = delete_organisation(organisation, acting_user=None, reason="The customer asked")
    assert deletion.address_free_on is not None
    refusal = address_refusal(slug)
    assert isinstance(refusal, OrganisationAddressQuarantined)
    assert "free again" in str(refusal)
    with on(deletion.address_free_on):
        assert address_refusal(slug) is None
        again = create_organisation(name="Anew", slug=slug, primary_contact_email="new@anew.test")
    # The new organisation is not the old one: none of its books, none of its log.
    assert again.organisation.pk != organisation.pk
    assert not Invoice.objects.filter(
        organisation=again.organisation, buyer_name__contains="Sakujo"
    )
    with schema_context(again.organisation.schema_name):
        assert AuditEvent.objects.filter(organisation=organisation).count() == 0


def test_the_command_deletes_once_and_says_so_after(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    slug = organisation.slug

    def run(*options: str) -> str:
        out = io.StringIO()
        call_command("delete_organisation", slug, *options, stdout=out)
        return out.getvalue()

    with pytest.raises(CommandError, match="--force needs --reason"):
        run("--force")
    first = run("--reason", "The customer asked")
    assert first == run() == run("--reason", "again")
    assert f"{slug}: deleted on {clock.today()}" in first
    assert f"its books stay under “deleted_{organisation.pk}”" in first
    events = AuditEvent.objects.filter(organisation=organisation, action="organisation.deleted")
    assert events.count() == 1


def test_staff_delete_a_closed_organisation_from_its_page(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    page = f"/admin/portal/organisation/{organisation.pk}/change/"
    delete = f"/admin/portal/organisation/{organisation.pk}/delete/"
    staff = _staff(is_superuser=True)
    shown = staff.get(page).content.decode()
    assert 'class="delete-form"' in shown and "Deleted automatically on" in shown
    wrong = staff.post(delete, {"address": "someone-else", "reason": "asked"}, follow=True)
    assert "This is not the organisation" in wrong.content.decode()
    no_reason = staff.post(delete, {"address": organisation.slug, "reason": ""}, follow=True)
    assert "Say why" in no_reason.content.decode()
    assert schema_exists(organisation.schema_name)
    assert not Deletion.objects.filter(organisation=organisation).exists()

    done = staff.post(delete, {"address": organisation.slug, "reason": "asked"}, follow=True)
    assert done.status_code == 200
    text = done.content.decode()
    assert "was deleted: its address is free again on" in text
    assert "Deleted on" in text and 'class="delete-form"' not in text
    assert not schema_exists(organisation.schema_name)
    event = AuditEvent.objects.get(organisation=organisation, action="organisation.deleted")
    assert event.actor_kind == "staff"


def test_staff_without_the_permission_cannot_delete(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    staff = StaffFactory.create()
    with pytest.raises(PermissionDenied):
        delete_organisation(organisation, acting_user=staff, reason="asked")
    assert not Deletion.objects.filter(organisation=organisation).exists()


def test_a_deleted_organisation_has_no_data_to_export(catalogue: None) -> None:
    organisation, _owner, _agent = _closed_shop()
    delete_organisation(organisation, acting_user=None, reason="asked")
    organisation.refresh_from_db()
    with pytest.raises(OrganisationDeleted):
        exports.request_export(organisation, acting_user=None)


def test_the_owners_functions_refuse_an_organisation_not_being_deleted(catalogue: None) -> None:
    """The app role may call them, for an organisation closed with its deletion under way
    only; the audit log stays append-only otherwise, and only addresses become placeholders."""
    organisation, _owner, _agent = _closed_shop()
    calls = [
        ("SELECT public.portal_drop_organisation_schema(%s)", [organisation.pk]),
        ("SELECT public.portal_forget_audit_people(%s, '{}'::jsonb)", [organisation.pk]),
        ("UPDATE subscriptions_auditevent SET actor_email = '' WHERE organisation_id = %s", []),
    ]
    for sql, parameters in calls:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, parameters or [organisation.pk])
    assert schema_exists(organisation.schema_name)
    # Under way (its first step committed), still only placeholders may be written.
    Deletion.objects.create(organisation=organisation, former_slug=organisation.slug, early=True)
    forged = '{"owner@example.test": "enterprise"}'
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT public.portal_forget_audit_people(%s, %s::jsonb)", [organisation.pk, forged]
        )


def test_nothing_reads_a_deleted_organisations_schema_from_the_public_one(
    catalogue: None,
) -> None:
    """Its row keeps a schema name no connection may choose: a search path would skip the
    missing schema and read the public tables of the same names (vendor staff's users)."""
    organisation, _owner, _agent = _closed_shop()
    delete_organisation(organisation, acting_user=None, reason="asked")
    tombstone = Organisation.all_objects.get(pk=organisation.pk)
    with pytest.raises(DeletedSchemaChosen), tenant_context(tombstone):
        User.objects.count()
    with pytest.raises(DeletedSchemaChosen), schema_context(tombstone.schema_name):
        User.objects.count()
    with pytest.raises(CommandError, match="was deleted on"):
        call_command("export_organisation", tombstone.slug, "--to", "/tmp/never.zip")
    with pytest.raises(CommandError, match="There is no organisation"):
        call_command("change_plan", tombstone.slug, "professional")
    # Its books are read by the address its row keeps.
    out = io.StringIO()
    call_command("invoices", "--org", tombstone.slug, stdout=out)
    first = Invoice.objects.filter(organisation=tombstone).first()
    assert first is not None and first.number in out.getvalue()


def test_its_pending_refund_is_still_paid_and_nobody_is_written_to(catalogue: None) -> None:
    """A refund requested when it closed is the customer's money: staff still approve and
    pay it after the deletion (its return invoice joins the books); no email goes to a
    placeholder."""
    organisation, _owner, _agent = _closed_shop()
    delete_organisation(organisation, acting_user=None, reason="asked")
    refund = RefundRequest.objects.get(organisation=organisation)
    before = {job["subject"] for job in queued_emails()}
    refunds.approve_refund(refund, acting_user=None)
    paid = refunds.mark_refunded(
        RefundRequest.objects.get(pk=refund.pk), acting_user=None, payment_reference="bank-1"
    )
    assert paid.status == "refunded"
    assert Invoice.objects.filter(organisation=organisation, kind="return_invoice").exists()
    assert {job["subject"] for job in queued_emails()} == before


def test_one_deletion_that_fails_does_not_stop_the_others(catalogue: None, caplog: Any) -> None:
    broken, _owner, _agent = _closed_shop()
    fine, _owner, _agent = _closed_shop()
    start_deletion(broken, acting_user=None, reason="asked")
    # Reopened by hand meanwhile: the owner's functions refuse an organisation not closed.
    Organisation.objects.filter(pk=broken.pk).update(closed_on=None)
    with on(clock.today() + timedelta(days=30)):
        assert retention.forget().organisations == [fine.slug]
    assert f"Deleting organisation {broken.slug} failed" in caplog.text
    # Nothing of the failed step stays; the next run resumes from its first step's end.
    deletion = Deletion.objects.get(organisation=broken)
    assert deletion.step == Deletion.Step.STARTED
    assert Deletion.objects.get(organisation=fine).step == Deletion.Step.DONE
