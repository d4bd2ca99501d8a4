"""Deleting an organisation (APPI, GDPR): its people are forgotten, its books are kept.

After a closed organisation's grace period (``PORTAL_CLOSED_EXPORT_DAYS``: its site offers
its data until then) the daily retention job deletes it; staff (``portal.delete_organisation``)
and operators (``manage.py delete_organisation``) may do it at once, with a reason, audited.
Three steps, each one transaction that says on the ``Deletion`` row that it is done, so a
deletion stopped anywhere resumes where it stopped (``run``), and at every commit each
organisation that is not deleted has its schema and each schema its organisation:

1. **started**: the row is written, its host names removed (the old address reaches
   nothing from then: "no organisation here"), audited;
2. **people**: in the public tables its people become placeholders (an email address of its
   user ``user-<id>@deleted.invalid``, any other ``contact-<n>@deleted.invalid``, the same
   for the same person everywhere; names, IP addresses, passwords, feedback in their words,
   cards' digits and postal addresses emptied; export archives dropped), the audit log's
   events of it too, by the owner's ``portal_forget_audit_people`` (the log is otherwise
   append-only); its invoices, return invoices, ledger lines and payments are not touched:
   the law keeps them seven years, printable as issued;
3. **done**: its schema is dropped by the owner's ``portal_drop_organisation_schema``, and
   the organisation's row, kept for the books, is marked deleted with an address nobody can
   type and a schema name no connection may choose (``deleted_<id>``: ``portal.db.names``;
   ``Organisation.objects`` no longer has it, ``all_objects`` does); its old address is free
   again after
   ``PORTAL_ADDRESS_QUARANTINE_DAYS`` (``services.address_refusal``), audited.

The functions refuse any organisation that is not closed with an unfinished deletion
(``organisations/migrations/0002``)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, CharField, F, Value, When
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import User
from audit.models import AuditEvent
from audit.services import Action, record
from organisations.exceptions import DeletionReasonRequired, OrganisationNotClosed
from organisations.models import DataExport, Deletion
from portal import clock
from portal.clock import closed_export_until
from portal.db.names import deleted_schema_name
from portal.models import Domain, Organisation, SignUp
from subscriptions.models import (
    BillingDetails,
    EntitlementOverride,
    PaymentAccount,
    PlanChange,
    RefundRequest,
    ScheduledChange,
)
from subscriptions.services import closing
from subscriptions.services.guards import require_staff

logger = logging.getLogger(__name__)

PLACEHOLDER_DOMAIN = "deleted.invalid"  # RFC 2606: no mail is ever delivered there
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

# The public tables' columns that may hold a person's email address, by model.
ADDRESS_COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    SignUp: ("email",),
    PlanChange: ("actor_email",),
    ScheduledChange: ("actor_email", "resolved_by"),
    RefundRequest: ("requested_by_email", "decided_by"),
    EntitlementOverride: ("granted_by",),
    DataExport: ("requested_by",),
}


def require_deleter(acting_user: User | None) -> None:
    """Operators, and staff with ``portal.delete_organisation``."""
    require_staff(acting_user, "portal.delete_organisation")


def grace_ended(organisation: Organisation) -> bool:
    """Whether a closed organisation's site no longer offers its data (its today)."""
    until = closed_export_until(organisation)
    return until is not None and clock.today(organisation) >= until


def deletion_of(organisation: Organisation) -> Deletion | None:
    return Deletion.objects.filter(organisation=organisation).first()


def delete_organisation(
    organisation: Organisation,
    *,
    acting_user: User | None,
    reason: str = "",
    force: bool = False,
) -> Deletion:
    """Delete the organisation (start it, or resume a deletion stopped halfway; a deleted
    one is returned as it is). A closed organisation whose grace period has not ended needs
    a reason; one still open needs ``force`` and a reason, and is closed now first
    (``closing.close_now``: a paid plan moves to Free)."""
    require_deleter(acting_user)
    deletion = deletion_of(organisation) or start_deletion(
        organisation, acting_user=acting_user, reason=reason, force=force
    )
    return run(deletion, acting_user=acting_user)


def start_deletion(
    organisation: Organisation, *, acting_user: User | None, reason: str = "", force: bool = False
) -> Deletion:
    """Step 1: the deletion's row, the host names removed, audited."""
    require_deleter(acting_user)
    reason = reason.strip()
    if organisation.closed_on is None:
        if not force:
            raise OrganisationNotClosed(organisation=organisation.name)
        if not reason:
            raise DeletionReasonRequired()
        closing.close_now(organisation, acting_user=acting_user)
        organisation.refresh_from_db()
    early = not grace_ended(organisation)
    if early and not reason:
        raise DeletionReasonRequired()
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        existing = deletion_of(locked)
        if existing is not None:  # started meanwhile by another run
            return existing
        deletion = Deletion.objects.create(
            organisation=locked,
            former_slug=locked.slug,
            reason=reason,
            early=early,
            requested_by=acting_user.email if acting_user is not None else "",
        )
        for domain in Domain.objects.filter(tenant=locked):
            domain.delete()  # its cached host is forgotten once this commits
        record(
            Action.DELETION_STARTED,
            acting_user=acting_user,
            organisation=locked,
            target=f"organisation:{locked.pk}",
            after={"address": locked.slug, "reason": reason, "early": early},
        )
    return deletion


def run(deletion: Deletion, *, acting_user: User | None) -> Deletion:
    """The steps not done yet, one transaction each (``acting_user``: who runs them, for
    the last step's audit event)."""
    steps = {
        Deletion.Step.STARTED: _forget_people,
        Deletion.Step.PEOPLE_FORGOTTEN: _drop_schema,
    }
    while deletion.step != Deletion.Step.DONE:
        with transaction.atomic():
            deletion = (
                Deletion.objects.select_for_update()
                .select_related("organisation")
                .get(pk=deletion.pk)
            )
            if deletion.step == Deletion.Step.DONE:  # finished meanwhile by another run
                break
            steps[Deletion.Step(deletion.step)](deletion, acting_user)
    return Deletion.objects.select_related("organisation").get(pk=deletion.pk)


def _forget_people(deletion: Deletion, acting_user: User | None) -> None:
    """Step 2 (in its transaction, on the public schema): the people become placeholders."""
    organisation = deletion.organisation
    people = placeholders(organisation)
    for model, columns in ADDRESS_COLUMNS.items():
        rows = model._default_manager.filter(organisation=organisation)
        for column in columns:
            replaced = [When(**{column: a}, then=Value(p)) for a, p in people.items()]
            if replaced:
                rows.filter(**{f"{column}__in": people}).update(
                    **{column: Case(*replaced, default=F(column), output_field=CharField())}
                )
    SignUp.objects.filter(organisation=organisation).update(
        full_name="", password="", ip_address=None
    )
    PlanChange.objects.filter(organisation=organisation).update(feedback_text="")
    DataExport.objects.filter(organisation=organisation).exclude(
        state=DataExport.State.FAILED
    ).update(state=DataExport.State.EXPIRED, archive=None, size=0)
    BillingDetails.objects.filter(organisation=organisation).update(
        attention="", postal_address="", emails=[]
    )
    PaymentAccount.objects.filter(organisation=organisation).update(
        payment_method_id="", brand="", last4="", exp_month=None, exp_year=None
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public.portal_forget_audit_people(%s, %s::jsonb)",
            [organisation.pk, json.dumps(people)],
        )
    deletion.step = Deletion.Step.PEOPLE_FORGOTTEN
    deletion.save(update_fields=["step"])


def _drop_schema(deletion: Deletion, acting_user: User | None) -> None:
    """Step 3 (in its transaction): the schema dropped and the row marked deleted, together."""
    organisation = deletion.organisation
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.portal_drop_organisation_schema(%s)", [organisation.pk])
    tombstone = deleted_schema_name(organisation.pk)
    Organisation.objects.filter(pk=organisation.pk).update(
        deleted_on=clock.today(organisation), slug=tombstone, schema_name=tombstone
    )
    deletion.step = Deletion.Step.DONE
    deletion.finished_at = timezone.now()
    # Addresses are everyone's: their quarantine runs on the real clock, not a test clock.
    quarantine = timedelta(days=settings.PORTAL_ADDRESS_QUARANTINE_DAYS)
    deletion.address_free_on = clock.today() + quarantine
    deletion.save(update_fields=["step", "finished_at", "address_free_on"])
    record(
        Action.ORGANISATION_DELETED,
        acting_user=acting_user,
        organisation=organisation,
        target=f"organisation:{organisation.pk}",
        after={"address": deletion.former_slug, "address_free_on": deletion.address_free_on},
    )


def placeholders(organisation: Organisation) -> dict[str, str]:
    """Every email address of the organisation's people that its public rows hold (any
    but vendor staff's), as written there, and its placeholder: ``user-<id>@deleted.invalid``
    for an address of its user ``id`` (whatever its case), ``contact-<n>@deleted.invalid``
    for the others, numbered in the addresses' order. Reads its schema (step 2 runs before
    it is dropped)."""
    addresses: list[tuple[str, int]] = []
    if schema_exists(organisation.schema_name):  # else its users are gone already
        with tenant_context(organisation):
            addresses += User.objects.values_list("email", "pk")
            addresses += EmailAddress.objects.values_list("email", "user_id")
    users = {email.lower(): pk for email, pk in addresses}
    staff = {email.lower() for email in User.objects.values_list("email", flat=True)}
    found = set(_addresses_in_public_rows(organisation))
    others = sorted({a.lower() for a in found} - users.keys() - staff)
    numbers = {address: number for number, address in enumerate(others, start=1)}
    people = {}
    for address in found:
        if (user := users.get(address.lower())) is not None:
            people[address] = f"user-{user}@{PLACEHOLDER_DOMAIN}"
        elif (number := numbers.get(address.lower())) is not None:
            people[address] = f"contact-{number}@{PLACEHOLDER_DOMAIN}"
    return people


def _addresses_in_public_rows(organisation: Organisation) -> Iterator[str]:
    for model, columns in ADDRESS_COLUMNS.items():
        for values in model._default_manager.filter(organisation=organisation).values_list(
            *columns
        ):
            yield from (value for value in values if EMAIL.match(value or ""))
    for emails in BillingDetails.objects.filter(organisation=organisation).values_list(
        "emails", flat=True
    ):
        yield from _strings(emails)
    events = AuditEvent.objects.filter(organisation=organisation)
    for actor, before, after in events.values_list("actor_email", "before", "after"):
        yield from _strings([actor, before, after])


def _strings(value: Any) -> Iterable[str]:
    """The email addresses among a JSON value's strings (keys and values)."""
    if isinstance(value, str):
        if EMAIL.match(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def delete_due() -> list[str]:
    """The daily job's part: every deletion stopped halfway resumes, and every closed
    organisation whose grace period has ended is deleted (as an operator). A failure is
    logged and the others go on; returns the addresses deleted."""
    pending = Deletion.objects.exclude(step=Deletion.Step.DONE).select_related("organisation")
    due = [(deletion.organisation, deletion.former_slug) for deletion in pending]
    closed = Organisation.objects.filter(closed_on__isnull=False, deletion__isnull=True)
    due += [
        (organisation, organisation.slug) for organisation in closed if grace_ended(organisation)
    ]
    deleted = []
    for organisation, slug in due:
        try:
            delete_organisation(organisation, acting_user=None)
        except Exception:
            logger.exception("Deleting organisation %s failed; the next run resumes it", slug)
        else:
            deleted.append(slug)
    return deleted
