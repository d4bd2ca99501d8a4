"""Operators' commands: create_organisation and seed_demo."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Department, User
from portal.models import Domain, Organisation
from subscriptions.models import Invoice, PaymentAccount, ScheduledChange
from subscriptions.stripe_gateway import client, minor_units
from tests.conftest import drop_schemas, owner_role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_organisation_creates_everything_it_promises(db) -> None:
    output = run(
        "create_organisation",
        "--name",
        "Umbrella KK",
        "--slug",
        "umbrella",
        "--primary-contact",
        "Alice@Umbrella.test",
        "--primary-contact-name",
        "Alice",
    )
    organisation = Organisation.objects.get(slug="umbrella")
    assert organisation.name == "Umbrella KK"
    assert organisation.schema_name == "org_umbrella" and schema_exists("org_umbrella")
    assert list(Domain.objects.filter(tenant=organisation).values_list("domain", flat=True)) == [
        "umbrella.localhost"
    ]
    with schema_context("org_umbrella"):
        contact = User.objects.get()
        assert (contact.email, contact.full_name) == ("alice@umbrella.test", "Alice")
        assert contact.is_primary_contact and contact.is_super_admin and contact.is_active
        assert not contact.has_usable_password()
        assert list(Department.objects.values_list("name", flat=True)) == ["Umbrella KK"]
    assert "http://umbrella.localhost:8000/accounts/password/reset/key/" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Dup", "--slug", "northwind"], "already exists"),
        (["--name", "Reserved", "--slug", "www"], "reserved"),
        (["--name", "Reserved", "--slug", "admin"], "reserved"),
        (["--name", "Bad", "--slug", "Bad_Slug"], "lowercase letters"),
        (["--name", "Bad", "--slug=-edge"], "lowercase letters"),
        (["--name", "Bad", "--slug", "edge-"], "lowercase letters"),
        (["--name", "Bad", "--slug", "x" * 41], "lowercase letters"),
        (["--name", "  ", "--slug", "blank-name"], "name of 1 to 100"),
        (
            ["--name", "Bad mail", "--slug", "bad-mail", "--primary-contact", "nobody"],
            "not a valid email",
        ),
        (
            [
                "--name",
                "Long mail",
                "--slug",
                "long-mail",
                "--primary-contact",
                "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".test",
            ],
            "not a valid email",
        ),
    ],
)
def test_create_organisation_refuses_bad_input_and_creates_nothing(
    northwind, args: list[str], message: str
) -> None:
    if "--primary-contact" not in args:
        args = [*args, "--primary-contact", "someone@example.test"]
    organisations, domains = Organisation.objects.count(), Domain.objects.count()
    schemas = _schema_names()
    with pytest.raises(CommandError, match=message):
        run("create_organisation", *args)
    assert Organisation.objects.count() == organisations
    assert Domain.objects.count() == domains
    assert _schema_names() == schemas


def test_create_organisation_rolls_back_the_schema_when_a_late_step_fails(northwind) -> None:
    """The host name is checked last (a stale domain row still holds it): the schema
    created just before is rolled back with everything else."""
    Domain.objects.create(domain="late.localhost", tenant=northwind.organisation)
    schemas = _schema_names()
    with pytest.raises(CommandError, match="already exists"):
        run(
            "create_organisation",
            "--name",
            "Late",
            "--slug",
            "late",
            "--primary-contact",
            "a@b.test",
        )
    assert not Organisation.objects.filter(slug="late").exists()
    assert not schema_exists("org_late")
    assert _schema_names() == schemas


def test_create_organisation_never_hands_over_a_schema_left_behind(northwind) -> None:
    """An organisation deleted without its data leaves its schema (``auto_drop_schema`` is
    off): a new organisation at that address would otherwise adopt it, users and all."""
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_kept")
        cursor.execute("CREATE TABLE org_kept.secrets (note text)")
    with pytest.raises(CommandError, match="belonged to an earlier organisation"):
        run(
            "create_organisation",
            "--name",
            "Kept",
            "--slug",
            "kept",
            "--primary-contact",
            "a@b.test",
        )
    assert not Organisation.objects.filter(slug="kept").exists()


def _schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_seed_demo_is_idempotent_and_covers_every_role(db) -> None:
    first = run("seed_demo")
    counts = _demo_counts()
    second = run("seed_demo")
    assert _demo_counts() == counts
    assert first == second
    assert "http://acme.localhost:8000/accounts/login/" in first
    assert "http://localhost:8000/admin/" in first
    with schema_context("org_acme"):
        users = list(User.objects.all())
        assert sum(user.is_primary_contact for user in users) == 1
        assert any(user.is_super_admin and not user.is_primary_contact for user in users)
        assert any(user.is_administrator for user in users)
        assert any(not (user.is_super_admin or user.is_administrator) for user in users)
        assert any(not user.is_active for user in users)
        assert Department.objects.count() >= 3
        assert all(user.check_password("demo-pass-2026") for user in users)
    staff = User.objects.get(email="staff@vendor.example")  # public schema
    assert staff.is_staff and staff.is_superuser
    # Globex shows a change waiting for the end of its period, once.
    [waiting] = ScheduledChange.objects.filter(status="scheduled")
    assert (waiting.organisation.slug, waiting.kind, waiting.seats_after) == ("globex", "seats", 3)
    # Hikari is on the trial a sign-up starts.
    hikari = Organisation.objects.get(slug="hikari").subscription
    assert (hikari.plan.code, hikari.amount_paid) == ("enterprise", 0) and hikari.on_trial


def _demo_counts() -> dict[str, tuple[int, int]]:
    counts = {}
    for organisation in Organisation.objects.all():
        with schema_context(organisation.schema_name):
            counts[organisation.slug] = (User.objects.count(), Department.objects.count())
    counts["public staff"] = (User.objects.count(), 0)
    return counts


@pytest.mark.django_db(transaction=True)
def test_seed_demo_reset_brings_the_demo_back(
    catalogue: None, owner_connections: None, settings
) -> None:
    """``make demo-reset``: whatever was done on the demo (a plan changed, an organisation
    signed up) is forgotten, and the demo is as ``make run`` first made it."""
    settings.DEBUG = True
    run("seed_demo")
    run(
        "create_organisation", "--name", "Extra", "--slug", "extra", "--primary-contact", "a@b.test"
    )
    acme = Organisation.objects.get(slug="acme")
    call_command("change_plan", "acme", "professional", stdout=StringIO())
    try:
        out = run("seed_demo", "--reset")
        assert "Forgot 5 organisation(s)" in out
        assert set(Organisation.objects.values_list("slug", flat=True)) == {
            "acme",
            "globex",
            "initech",
            "hikari",
        }
        assert not schema_exists("org_extra")
        again = Organisation.objects.get(slug="acme")
        assert again.pk != acme.pk
        assert again.subscription.plan.code == "enterprise"
        with schema_context(again.schema_name):
            assert User.objects.filter(is_active=True).count() == 6
    finally:
        drop_schemas("org_acme", "org_globex", "org_initech", "org_hikari", "org_extra")


def test_seed_demo_reset_is_for_development_only(northwind, settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="for development"):
        run("seed_demo", "--reset")
    assert Organisation.objects.filter(slug="northwind").exists()


def test_the_demo_keeps_a_test_card_and_its_renewal_is_paid_with_it(
    db, stripe_payments: str
) -> None:
    """Payments through the local provider (as ``make run`` has them): each paid demo
    organisation has a test card on file, and its renewal is charged to it."""
    run("seed_demo")
    cards = dict(PaymentAccount.objects.values_list("organisation__slug", "last4"))
    assert cards == {"acme": "4242", "globex": "4242", "initech": "4242"}
    acme = Organisation.objects.get(slug="acme")
    renewal = acme.subscription.period_end + timedelta(days=1)
    out = run("clock", "advance", "--org", "acme", "--to", renewal.isoformat())
    invoice = Invoice.objects.get(organisation=acme, kind="invoice", issued_on=renewal)
    assert f"acme: invoice {invoice.number} paid" in out
    assert invoice.status == "paid"
    intent = client().v1.payment_intents.retrieve(invoice.payments.get().reference)
    assert (intent.status, intent.amount) == ("succeeded", minor_units(invoice.total, "JPY"))
