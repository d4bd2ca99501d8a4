"""The public tables keep organisations apart in the database too
(``subscriptions/migrations/0015``): on an organisation's schema the app role sees and writes
only that organisation's rows, whatever the query forgets; on public, every row.

What this does not contain (docs/operations.md, "Containing a SQL-level bug"): the app role
may still name another organisation's schema (``org_contoso.accounts_user``); roles per
organisation would, at the cost measured by ``bench/isolation.py``."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from audit.services import Action, record
from portal.models import SignUp
from subscriptions.models import Invoice, LedgerLine, PlanChange, Subscription
from subscriptions.services import plan_changes
from tests.conftest import Site, owner_role

pytestmark = pytest.mark.django_db

TABLES = [
    "subscriptions_subscription",
    "subscriptions_entitlementoverride",
    "subscriptions_planchange",
    "subscriptions_refundrequest",
    "subscriptions_scheduledchange",
    "subscriptions_ledgerline",
    "subscriptions_invoice",
    "subscriptions_auditevent",
    "subscriptions_billingdetails",
    "subscriptions_paymentaccount",
    "subscriptions_payment",
    "portal_signup",
    "organisations_dataexport",
    "organisations_deletion",
]
# What both organisations have rows in, once each made a plan change.
WRITTEN_BY_A_PLAN_CHANGE = {
    "subscriptions_subscription",
    "subscriptions_planchange",
    "subscriptions_ledgerline",
    "subscriptions_invoice",
    "subscriptions_auditevent",
}


def organisations_seen(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT organisation_id FROM {table} WHERE organisation_id IS NOT NULL"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def both(northwind: Site, contoso: Site) -> tuple[Site, Site]:
    """Each organisation with a plan change (and its ledger line and invoice)."""
    for site in (northwind, contoso):
        plan_changes.change_plan(site.organisation, "professional", acting_user=None, seats=10)
    return northwind, contoso


def test_every_table_with_organisations_rows_has_the_policy() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity"
        )
        protected = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'organisation_id'"
        )
        with_organisations = {row[0] for row in cursor.fetchall()}
    assert with_organisations == set(TABLES)
    # and the vendor's own table of every organisation's payments, seen on public only
    assert protected == {*TABLES, "subscriptions_providerevent"}


@pytest.mark.parametrize("table", TABLES)
def test_an_organisations_connection_sees_only_its_own_rows(
    both: tuple[Site, Site], table: str
) -> None:
    northwind, contoso = both
    ids = {northwind.organisation.pk, contoso.organisation.pk}
    with schema_context(northwind.organisation.schema_name):
        assert organisations_seen(table) <= {northwind.organisation.pk}
    with schema_context(contoso.organisation.schema_name):
        assert organisations_seen(table) <= {contoso.organisation.pk}
    if table in WRITTEN_BY_A_PLAN_CHANGE:
        assert organisations_seen(table) >= ids  # on public: everyone's


def test_a_query_that_names_another_organisation_gets_nothing(both: tuple[Site, Site]) -> None:
    northwind, contoso = both
    with schema_context(northwind.organisation.schema_name):
        assert not PlanChange.objects.filter(organisation=contoso.organisation).exists()
        assert not Invoice.objects.filter(organisation=contoso.organisation).exists()
        assert not LedgerLine.objects.filter(organisation=contoso.organisation).exists()
        assert Subscription.objects.count() == 1
        # Changing them changes nothing either.
        assert Subscription.objects.filter(organisation=contoso.organisation).update(seats=1) == 0
    assert Subscription.objects.get(organisation=contoso.organisation).seats == 10


def test_an_organisations_connection_may_not_write_another_organisations_rows(
    both: tuple[Site, Site],
) -> None:
    northwind, contoso = both
    before = AuditEvent.objects.filter(organisation=contoso.organisation).count()
    with (
        schema_context(northwind.organisation.schema_name),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
    ):
        record(
            Action.PLAN_CHANGED,
            acting_user=None,
            organisation=contoso.organisation,
            target=contoso.organisation,
        )
    assert AuditEvent.objects.filter(organisation=contoso.organisation).count() == before
    with schema_context(northwind.organisation.schema_name), transaction.atomic():
        mine = record(  # its own organisation's: written as ever
            Action.PLAN_CHANGED, acting_user=None, target=northwind.organisation
        )
    assert mine.organisation_id == northwind.organisation.pk


def test_a_schema_that_is_no_organisations_sees_nothing(both: tuple[Site, Site]) -> None:
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_nobody")
    with schema_context("org_nobody"):
        assert Subscription.objects.count() == 0
        assert SignUp.objects.count() == 0
