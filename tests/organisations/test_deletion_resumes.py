"""A deletion killed halfway resumes (organisations/deletion.py): ``manage.py
delete_organisation`` in a process of its own is killed (SIGKILL) while its second step, then
its third, waits for a lock this test holds; what it committed stays, what it had not
committed is rolled back, every organisation not deleted still has its schema and every
schema its organisation, and running the command again finishes the deletion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from organisations.models import Deletion
from portal.models import Domain, Organisation
from subscriptions.models import Invoice, PlanChange
from subscriptions.services import closing, plan_changes
from tests.conftest import database_urls
from tests.subscriptions.conftest import make_organisation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]

ROOT = Path(__file__).resolve().parents[2]
NAME = "deletion-under-test"


def _start_deleting(slug: str) -> subprocess.Popen[str]:
    environment = {**os.environ, **database_urls(application_name=NAME), "DJANGO_DEBUG": "1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "delete_organisation", slug, "--reason", "Asked"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def _holding(lock: str) -> Iterator[None]:
    """``lock`` (a LOCK TABLE statement) held by the owner in a transaction of its own."""
    with psycopg.connect(database_urls()["DATABASE_OWNER_URL"]) as holder:
        holder.execute(lock)
        yield
        holder.rollback()


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'",
            [NAME],
        )
        return bool(cursor.fetchone()[0])


def _kill_while_waiting(process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not _waiting_for_a_lock():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the deletion never waited for the lock"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _gone() -> None:
    """The killed process's server session ends once the lock is released (its client is
    gone: what it had not committed is rolled back)."""
    deadline = time.monotonic() + 60
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [NAME]
            )
            if not cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _strays() -> tuple[list[str], list[str]]:
    """Organisations not deleted without their schema; organisations' schemas without
    an organisation not deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT o.slug FROM portal_organisation AS o
               WHERE o.deleted_on IS NULL
                 AND NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = o.schema_name)"""
        )
        rows_without_schema = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """SELECT n.nspname FROM pg_namespace AS n WHERE n.nspname LIKE 'org\\_%%'
               AND NOT EXISTS (SELECT 1 FROM portal_organisation AS o
                               WHERE o.schema_name = n.nspname AND o.deleted_on IS NULL)"""
        )
        schemas_without_row = [row[0] for row in cursor.fetchall()]
    return rows_without_schema, schemas_without_row


def test_a_deletion_killed_between_its_steps_resumes(catalogue: None) -> None:
    organisation, owner = make_organisation("professional", seats=3, slug="kieru")
    plan_changes.change_plan(organisation, "standard", acting_user=owner)
    closing.close_now(organisation, acting_user=owner)
    schema, books = organisation.schema_name, list(Invoice.objects.values().order_by("pk"))
    leftover_schemas = _strays()[1]  # earlier tests' (the flush between them leaves schemas)

    # Killed while forgetting its people: its address is already gone, its people are not.
    with _holding("LOCK TABLE public.subscriptions_planchange IN SHARE MODE"):
        first = _start_deleting("kieru")
        _kill_while_waiting(first)
    _gone()
    deletion = Deletion.objects.get(organisation=organisation)
    assert deletion.step == Deletion.Step.STARTED
    assert not Domain.objects.filter(tenant=organisation).exists()
    assert {c.actor_email for c in PlanChange.objects.all()} == {"owner@kieru.test"}
    assert schema_exists(schema) and _strays() == ([], leftover_schemas)

    # Killed while dropping its schema: its people are forgotten, its schema is still there.
    with _holding(f"LOCK TABLE {schema}.accounts_user IN ACCESS SHARE MODE"):
        second = _start_deleting("kieru")
        _kill_while_waiting(second)
    _gone()
    deletion.refresh_from_db()
    assert deletion.step == Deletion.Step.PEOPLE_FORGOTTEN
    placeholder = f"user-{owner.pk}@deleted.invalid"
    assert {c.actor_email for c in PlanChange.objects.all()} == {placeholder}
    assert schema_exists(schema) and Organisation.objects.get(pk=organisation.pk).deleted_on is None
    with schema_context(schema):
        assert User.objects.filter(pk=owner.pk).exists()
    assert _strays() == ([], leftover_schemas)

    # Run again: it finishes.
    third = _start_deleting("kieru")
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0, output
    assert "kieru: deleted on" in output
    deletion.refresh_from_db()
    assert deletion.step == Deletion.Step.DONE
    assert not schema_exists(schema) and _strays() == ([], leftover_schemas)
    assert list(Invoice.objects.values().order_by("pk")) == books
