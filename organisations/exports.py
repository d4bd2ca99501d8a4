"""An organisation's data to take away (APPI, GDPR): its users, departments and roles, its
subscription and plan changes, refund requests, invoices and return invoices with their
lines, and its audit events, as one ZIP archive of CSV (UTF-8 with BOM, for Excel in Japan)
and JSON files with a README. Asked for by its primary contact (the Store, or the closed
site's page) or staff, built by a job (``tasks.build_export``), downloaded on the
organisation's own site with the emailed link until it expires
(``PORTAL_EXPORT_LINK_DAYS``); ``manage.py export_organisation`` writes one to a file."""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_tenants.utils import tenant_context
from procrastinate.contrib.django import app

from accounts.models import User
from accounts.selectors import list_departments, list_users
from audit.selectors import audit_row, events_of
from audit.services import Action, record
from organisations.exceptions import OrganisationDeleted
from organisations.models import DataExport
from portal import clock
from portal.clock import closed_export_until
from portal.emails import send_after_commit
from portal.models import Organisation
from portal.queue import defer_with_transaction
from portal.selectors import organisation_url
from subscriptions.selectors.entitlements import subscription_of
from subscriptions.selectors.invoices import invoices_of
from subscriptions.selectors.store import plan_changes_of, refund_requests_of
from subscriptions.services.guards import require_primary_contact
from subscriptions.snapshots import snapshot

# One table of the archive: its file name (without extension), its columns, its rows.
Table = tuple[str, list[str], list[dict[str, Any]]]


def _users() -> Table:
    columns = ["id", "email", "full_name", "is_primary_contact", "is_super_admin"]
    columns += ["is_administrator", "is_active", "date_joined", "last_login"]
    rows = [{column: getattr(user, column) for column in columns} for user in list_users()]
    return "users", columns, rows


def _departments() -> Table:
    columns = ["id", "name", "created_at"]
    rows = [
        {column: getattr(department, column) for column in columns}
        for department in list_departments()
    ]
    return "departments", columns, rows


def _plan_changes(organisation: Organisation) -> Table:
    columns = ["id", "changed_on", "kind", "from_plan", "to_plan", "from_cycle", "to_cycle"]
    columns += ["seats_before", "seats_after", "currency", "amount_due", "refund_quote"]
    columns += ["actor_email"]
    rows = [
        {
            **{column: getattr(change, column) for column in columns},
            "from_plan": change.from_plan.code,
            "to_plan": change.to_plan.code,
        }
        for change in plan_changes_of(organisation)
    ]
    return "plan_changes", columns, rows


def _refunds(organisation: Organisation) -> Table:
    columns = ["id", "requested_at", "status", "currency", "amount", "tax", "payment_reference"]
    rows = [
        {column: getattr(refund, column) for column in columns}
        for refund in refund_requests_of(organisation)
    ]
    return "refund_requests", columns, rows


INVOICE_COLUMNS = ["number", "kind", "issued_on", "status", "currency", "buyer_name"]
INVOICE_COLUMNS += ["subtotal", "tax", "total"]
LINE_COLUMNS = ["invoice", "kind", "period_start", "period_end", "plan", "amount"]


def _invoices(organisation: Organisation) -> tuple[Table, Table]:
    invoices, lines = [], []
    for invoice in invoices_of(organisation).order_by("issued_on", "pk"):
        invoices.append({column: getattr(invoice, column) for column in INVOICE_COLUMNS})
        lines += [
            {
                "invoice": invoice.number,
                "kind": line.kind,
                "period_start": line.period_start,
                "period_end": line.period_end,
                "plan": line.plan.code if line.plan else "",
                "amount": line.amount,
            }
            for line in invoice.lines.all()
        ]
    return ("invoices", INVOICE_COLUMNS, invoices), ("invoice_lines", LINE_COLUMNS, lines)


def _audit(organisation: Organisation) -> Table:
    columns = ["created_at", "actor_kind", "actor_email", "action", "target", "before", "after"]
    rows = [audit_row(event) for event in events_of(organisation).select_related("organisation")]
    return "audit_events", columns, [{c: row[c] for c in columns} for row in rows]


def _csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark: Excel in Japan opens it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_plain(row[column]) for column in columns])
    return out.getvalue().encode("utf-8-sig")


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def refuse_if_deleted(organisation: Organisation) -> None:
    """``OrganisationDeleted`` for a deleted organisation: its data is gone."""
    if organisation.deleted_on is not None:
        raise OrganisationDeleted(
            organisation=organisation.name,
            date=date_format(organisation.deleted_on, "DATE_FORMAT"),
        )


def archive(organisation: Organisation) -> bytes:
    """The organisation's data as a ZIP archive (in memory: an organisation's data is small
    next to a request's memory; reads its schema and its rows of the public tables). A
    deleted organisation has none (``OrganisationDeleted``)."""
    refuse_if_deleted(organisation)
    subscription = subscription_of(organisation)
    with tenant_context(organisation):  # RLS keeps the public tables to its rows too
        tables: list[Table] = [_users(), _departments()]
        tables += [_plan_changes(organisation), _refunds(organisation)]
        tables += [*_invoices(organisation), _audit(organisation)]
    about = {
        "organisation": {"name": organisation.name, "address": organisation.slug},
        "subscription": {**snapshot(subscription), "closes_on": subscription.closes_on},
        "exported_at": timezone.now(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        readme = render_to_string(
            "organisations/export_readme.txt",
            {"organisation": organisation, "tables": [name for name, _c, _r in tables]},
        )
        zipped.writestr("README.txt", readme.encode("utf-8-sig"))
        zipped.writestr("organisation.json", _json(about))
        for name, columns, rows in tables:
            zipped.writestr(f"{name}.csv", _csv(columns, rows))
            zipped.writestr(f"{name}.json", _json([{c: row[c] for c in columns} for row in rows]))
    return buffer.getvalue()


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder).encode()


def request_export(organisation: Organisation, *, acting_user: User | None) -> DataExport:
    """Queue an export of the organisation's data, emailed when ready to whoever asked
    (``acting_user``; None: its primary contact, as the closed site's page asks), audited.
    One waiting at a time: asked again meanwhile, that one is returned. A deleted
    organisation has no data to export (``OrganisationDeleted``)."""
    refuse_if_deleted(organisation)
    if acting_user is not None:  # its primary contact, staff who may see organisations
        require_primary_contact(organisation, acting_user, or_staff_with="portal.view_organisation")
    with transaction.atomic():
        waiting = DataExport.objects.filter(
            organisation=organisation, state=DataExport.State.QUEUED
        ).first()
        if waiting is not None:
            return waiting
        export = DataExport.objects.create(
            organisation=organisation,
            token=secrets.token_urlsafe(32),
            requested_by=(
                acting_user.email if acting_user is not None else _primary_email(organisation)
            ),
            language=translation.get_language() or "",
        )
        record(
            Action.EXPORT_REQUESTED,
            acting_user=acting_user,
            organisation=organisation,
            target=export,
            after={"requested_by": export.requested_by},
        )
        defer_with_transaction(build_export, export_id=export.pk)
    return export


def _primary_email(organisation: Organisation) -> str:
    with tenant_context(organisation):
        return User.objects.filter(is_primary_contact=True).values_list("email", flat=True).get()


@app.task(queue="exports")
def build_export(*, export_id: int) -> None:
    """The job that builds an export (``build``; registered by ``organisations.tasks``)."""
    build(export_id)


def build(export_id: int) -> DataExport | None:
    """The job: build the archive, keep it until the link expires, and email the link (in
    the language of the request that asked). A second run changes nothing; a failure marks
    it failed (logged by the worker), so that it can be asked for again."""
    try:
        return _build(export_id)
    except Exception:
        DataExport.objects.filter(pk=export_id, state=DataExport.State.QUEUED).update(
            state=DataExport.State.FAILED
        )
        raise


def _build(export_id: int) -> DataExport | None:
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update()
            .select_related("organisation")
            .filter(pk=export_id, state=DataExport.State.QUEUED)
            .first()
        )
        if export is None:
            return None
        organisation = export.organisation
        data = archive(organisation)
        export.archive, export.size = data, len(data)
        export.state = DataExport.State.READY
        export.expires_at = timezone.now() + timedelta(days=settings.PORTAL_EXPORT_LINK_DAYS)
        export.save(update_fields=["archive", "size", "state", "expires_at"])
        link = f"{organisation_url(organisation)}export/{export.token}/"
        with translation.override(export.language or None):
            send_after_commit(
                "organisations/email/export_ready",
                [export.requested_by],
                {"organisation": organisation, "link": link, "export": export},
            )
    return export


def downloadable(organisation: Organisation, token: str) -> DataExport | None:
    """The organisation's export with this token, if ready and not expired (another
    organisation's is None: the token and the organisation must both match)."""
    return DataExport.objects.filter(
        organisation=organisation,
        token=token,
        state=DataExport.State.READY,
        expires_at__gt=timezone.now(),
    ).first()


def forget_expired() -> int:
    """Retention: the archives whose link expired are forgotten (the row stays, its state
    expired). Returns how many."""
    return DataExport.objects.filter(
        state=DataExport.State.READY, expires_at__lte=timezone.now()
    ).update(state=DataExport.State.EXPIRED, archive=None)


def offered_when_closed(organisation: Organisation) -> bool:
    """Whether the closed organisation's site still offers its data
    (``portal.clock.closed_export_until``)."""
    until = closed_export_until(organisation)
    return until is not None and clock.today(organisation) < until
