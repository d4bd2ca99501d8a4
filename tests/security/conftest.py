"""What the security suites share: the other organisation's objects to aim at (``foreign``),
and a snapshot of every row a request could change, to prove that a refused one changed
nothing.

The objects are made through the services, as a customer's actions make them, inside the
test's transaction: contoso gets a user and a department whose ids do not exist in
northwind, a downgrade with a pending refund request, then fewer seats (a refund quote not
yet requested), a change scheduled for the end of the period, its invoices, an unverified
email address whose id also exists (unverified) in northwind, with its confirmation key,
and a password reset link of its primary contact (whose id northwind's primary shares).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmation
from django.core.cache import caches
from django.core.management.color import no_style
from django.core.signals import got_request_exception
from django.db import connection, models, transaction
from django.test import Client
from django.utils import timezone
from django.utils.http import int_to_base36
from django_tenants.utils import schema_context

from accounts.models import Department, User
from accounts.services import add_user, create_department
from audit.models import AuditEvent
from organisations import exports, signups
from portal import hosts
from portal.models import Domain, Organisation, SignUp
from portal.tenancy import use_public_schema
from subscriptions.models import (
    Invoice,
    LedgerLine,
    PlanChange,
    RefundRequest,
    ScheduledChange,
    Subscription,
)
from subscriptions.services import plan_changes, refunds, scheduled_changes
from tests.conftest import Site, harness_transaction, signed_in, site_client

# Rows an organisation's request could touch: in its schema, and its rows in public.
SCHEMA_MODELS: tuple[type[models.Model], ...] = (User, Department, EmailAddress)
PUBLIC_MODELS: tuple[type[models.Model], ...] = (
    Subscription,
    PlanChange,
    ScheduledChange,
    RefundRequest,
    LedgerLine,
    Invoice,
    AuditEvent,
    SignUp,  # a sign-up's welcome key, spent by signing in
)

# The organisations, their host names and schemas, and the queued jobs (emails).
REGISTRY_TABLES = (
    f"public.{Organisation._meta.db_table}",
    f"public.{Domain._meta.db_table}",
    "public.procrastinate_jobs",
    "(SELECT nspname FROM pg_namespace)",
)

# (table, whose rows: a schema's name or an organisation's id in public) → (rows, digest).
Tables = dict[tuple[str, str], tuple[int, str]]


def _snapshot_sql(schemas: list[str]) -> str:
    """One query: for every table, its row count and a digest of every column of every
    row (an update shows, not only an insert or a delete); the public tables grouped by
    organisation."""
    parts = [
        f"SELECT '{model._meta.db_table}', '{schema}', count(*), "
        f"md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f'FROM "{schema}"."{model._meta.db_table}" t'
        for schema in schemas
        for model in SCHEMA_MODELS
    ]
    parts += [
        f"SELECT '{model._meta.db_table}', coalesce(t.organisation_id::text, '-'), count(*), "
        f"md5(string_agg(t::text, '|' ORDER BY t::text)) "
        f'FROM public."{model._meta.db_table}" t GROUP BY t.organisation_id'
        for model in PUBLIC_MODELS
    ]
    parts += [
        f"SELECT '{table}', '-', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY "
        f"t::text), '')) FROM {table} t"
        for table in REGISTRY_TABLES
    ]
    return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class Snapshot:
    """The rows of the organisations' schemas (users, departments, email addresses) and
    every row of the public tables, per organisation."""

    tables: Tables
    owners: dict[str, set[str]]  # an organisation's slug → the keys of its rows

    @classmethod
    def take(cls, *sites: Site) -> Snapshot:
        schemas = [site.organisation.schema_name for site in sites]
        # On public: from an organisation's schema, row-level security shows only its rows
        # (a request leaves the connection on its organisation's schema).
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute(_snapshot_sql(schemas))
            tables = {(table, owner): (rows, digest) for table, owner, rows, digest in cursor}
        owners = {
            site.organisation.slug: {site.organisation.schema_name, str(site.organisation.pk)}
            for site in sites
        }
        return cls(tables, owners)

    def changes_since(self, before: Snapshot, *, slug: str | None = None) -> list[str]:
        """What differs from ``before``, in words (empty when nothing does); with
        ``slug``, only that organisation's rows."""
        keys = sorted(set(before.tables) | set(self.tables))
        if slug is not None:
            keys = [key for key in keys if key[1] in self.owners[slug]]
        return [
            f"{table} of {owner}: {before.tables.get((table, owner), (0, ''))[0]} rows → "
            f"{self.tables.get((table, owner), (0, ''))[0]} (digest changed)"
            for table, owner in keys
            if before.tables.get((table, owner)) != self.tables.get((table, owner))
        ]


@contextmanager
def rolled_back() -> Iterator[None]:
    """A block whose writes are undone (a savepoint rolled back), with fresh caches: each
    request or example starts from the same rows."""
    for alias in ("default", "entitlements"):
        caches[alias].clear()
    hosts.forget_all()
    with harness_transaction():
        yield
        transaction.set_rollback(True)


@contextmanager
def exceptions_caught() -> Iterator[list[BaseException]]:
    """The exceptions the handler turned into a response (a 500), as Django's signal
    reports them."""
    caught: list[BaseException] = []

    def record(sender: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            caught.append(error)

    got_request_exception.connect(record, weak=False)
    try:
        yield caught
    finally:
        got_request_exception.disconnect(record)


def client_for(site: Site, visitor: str) -> Client:
    """A client on the site's host, signed in with the role (or anonymous), that turns a
    server error into a 500 response instead of raising it."""
    client = site_client(site) if visitor == "anonymous" else signed_in(site, visitor)
    client.raise_request_exception = False
    return client


# --- The other organisation's objects -----------------------------------------------------


@dataclass(frozen=True)
class Foreign:
    """Contoso's objects, aimed at from northwind's site."""

    user_id: int
    department_id: int
    plan_change_id: int  # fewer seats: a refund quote and no refund request yet
    refund_id: int  # pending
    invoice_number: str
    email_key: str  # the confirmation key of contoso's unverified address
    reset_uidb36: str  # a password reset link of contoso's primary contact
    reset_key: str
    welcome_key: str  # the one-time sign-in link of contoso's sign-up
    export_token: str  # the download link's key of contoso's data export (ready)
    user_email: str
    host: str  # contoso's site
    markers: tuple[str, ...]  # text of contoso's that no northwind page may show


SECRET_NAME = "Zed Quasar-Contoso"
SECRET_DEPARTMENT = "Quasar Contoso Department"


def _contoso_only_user(northwind: Site, contoso: Site) -> User:
    """A contoso user whose id no northwind user has (ids are per schema, so contoso's
    first users share their ids with northwind's)."""
    with schema_context(northwind.organisation.schema_name):
        taken = set(User.objects.values_list("pk", flat=True))
    with schema_context(contoso.organisation.schema_name):
        for number in range(len(taken) + 1):
            user = add_user(
                email=f"quasar{number}@contoso.test", full_name=SECRET_NAME, acting_user=None
            )
            if user.pk not in taken:
                return user
    raise AssertionError("could not make a contoso user with an id northwind lacks")


def _contoso_only_department(northwind: Site, contoso: Site) -> Department:
    with schema_context(northwind.organisation.schema_name):
        taken = set(Department.objects.values_list("pk", flat=True))
    with schema_context(contoso.organisation.schema_name):
        department = create_department(name=SECRET_DEPARTMENT, acting_user=None)
    assert department.pk not in taken
    return department


def _shared_id_unverified_addresses(northwind: Site, contoso: Site, user: User) -> str:
    """An unverified address in contoso and one in northwind with the same id (ids are
    per schema and small, so a real pair is likely); the key confirming contoso's."""
    with schema_context(contoso.organisation.schema_name):
        address = EmailAddress.objects.create(
            user=user, email="quasar-second@contoso.test", verified=False, primary=False
        )
        # As the site issues them (ACCOUNT_EMAIL_CONFIRMATION_HMAC off): a random key kept
        # in contoso's schema.
        key = EmailConfirmation.create(address).key
    with schema_context(northwind.organisation.schema_name):
        agent = User.objects.get(pk=northwind.user_ids["agent"])
        EmailAddress.objects.filter(pk=address.pk).delete()
        EmailAddress.objects.create(
            pk=address.pk, user=agent, email="agent-second@northwind.test", verified=False
        )
        with connection.cursor() as cursor:  # the next address gets the next free id
            for statement in connection.ops.sequence_reset_sql(no_style(), [EmailAddress]):
                cursor.execute(statement)
    return key


@pytest.fixture
def foreign(northwind: Site, contoso: Site) -> Foreign:
    """Contoso's objects (see the module's docstring), made in the test's transaction."""
    organisation = contoso.organisation
    user = _contoso_only_user(northwind, contoso)
    department = _contoso_only_department(northwind, contoso)
    period_start = Subscription.objects.get(organisation=organisation).period_start
    # Changes on the period's first day, so that each has a refund quote; contoso stays
    # on Professional, where its new department is visible (within the plan's limit).
    refunded = plan_changes.change_plan(
        organisation, "professional", acting_user=None, today=period_start
    )
    refund = refunds.request_refund(refunded, acting_user=contoso.user("primary"))
    kept = plan_changes.change_plan(
        organisation, "professional", acting_user=None, seats=9, today=period_start
    )
    scheduled_changes.schedule_change(
        organisation, "standard", acting_user=None, seats=9, today=period_start
    )
    assert kept.refund_quote > 0 and refund.status == "pending"
    invoice = Invoice.objects.filter(organisation=organisation).order_by("pk").first()
    assert invoice is not None, "create_organisation invoices the first period"
    email_key = _shared_id_unverified_addresses(northwind, contoso, user)
    primary = contoso.user("primary")
    with schema_context(organisation.schema_name):  # the token reads the user's addresses
        reset_key = default_token_generator.make_token(primary)
    signed_up = SignUp.objects.create(
        organisation_name=organisation.name,
        slug=organisation.slug,
        email=primary.email,
        language="en",
        verification_key=signups.digest("contoso-verification"),
        state=SignUp.State.DONE,
        organisation=organisation,
        primary_contact_id=primary.pk,
        done_at=timezone.now(),
    )
    export = exports.request_export(organisation, acting_user=None)
    exports.build(export.pk)
    return Foreign(
        user_id=user.pk,
        department_id=department.pk,
        plan_change_id=kept.pk,
        refund_id=refund.pk,
        invoice_number=invoice.number,
        email_key=email_key,
        reset_uidb36=int_to_base36(primary.pk),
        reset_key=reset_key,
        welcome_key=signups.welcome_key(signed_up),
        export_token=export.token,
        user_email=user.email,
        host=contoso.host,
        markers=(organisation.name, user.email, SECRET_NAME, SECRET_DEPARTMENT, invoice.number),
    )
