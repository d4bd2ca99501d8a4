"""Shared fixtures: real PostgreSQL, real tenant schemas.

Two organisations (northwind, contoso) with a user in every role are created once per
session and committed; each test runs in a transaction that is rolled back, so tests
may change them freely. Tests that need a brand-new organisation create it inside their
own transaction (schema DDL is transactional in PostgreSQL).

Emails go through the job queue: a service queues a ``send_email`` job in its transaction,
and ``send_queued_emails()`` sends them as a worker would, inside the test's transaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import Max
from django.test import Client
from django_tenants.utils import schema_context
from procrastinate.contrib.django.models import ProcrastinateJob
from pytest_django import DjangoDbBlocker

from accounts.models import User
from accounts.services import add_user, deactivate_user
from portal import hosts
from portal.models import Organisation
from portal.services import create_organisation
from portal.tasks import send_email
from portal.tenancy import use_public_schema
from subscriptions.models import Plan

PASSWORD = "a-long-test-password-42"
ROLES = ("primary", "super", "admin", "agent", "inactive")


@dataclass(frozen=True)
class Site:
    """A test organisation and the ids of its users by role."""

    organisation: Organisation
    user_ids: dict[str, int]

    @property
    def host(self) -> str:
        return f"{self.organisation.slug}.{settings.PORTAL_BASE_DOMAIN}"

    def user(self, role: str) -> User:
        with schema_context(self.organisation.schema_name):
            return User.objects.get(pk=self.user_ids[role])

    def email(self, role: str) -> str:
        return f"{role}@{self.organisation.slug}.test"


def _create_site(slug: str) -> Site:
    created = create_organisation(
        name=slug.capitalize() + " Inc.",
        slug=slug,
        primary_contact_email=f"primary@{slug}.test",
        primary_contact_name=f"Pat {slug.capitalize()}",
        primary_contact_password=PASSWORD,
        plan_code="enterprise",
        seats=10,
    )
    ids = {"primary": created.primary_contact.pk}
    with schema_context(created.organisation.schema_name):
        for role in ROLES[1:]:
            user = add_user(
                email=f"{role}@{slug}.test",
                full_name=f"{role.capitalize()} {slug.capitalize()}",
                password=PASSWORD,
                is_super_admin=role == "super",
                is_administrator=role == "admin",
                acting_user=None,
            )
            if role == "inactive":
                deactivate_user(user, acting_user=None)
            ids[role] = user.pk
    return Site(created.organisation, ids)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def sites(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> dict[str, Site]:
    with django_db_blocker.unblock():
        return {slug: _create_site(slug) for slug in ("northwind", "contoso")}


def _fresh(site: Site) -> Site:
    """The site with its organisation loaded anew: objects cache relations (the
    subscription, entitlements), and a test must not see another test's."""
    return Site(Organisation.objects.get(pk=site.organisation.pk), site.user_ids)


@pytest.fixture
def northwind(sites: dict[str, Site], db: None) -> Site:
    return _fresh(sites["northwind"])


@pytest.fixture
def contoso(sites: dict[str, Site], db: None) -> Site:
    return _fresh(sites["contoso"])


@pytest.fixture(autouse=True)
def _fresh_state_around_each_test() -> Iterator[None]:
    """Requests leave the connection on a tenant's schema, and allauth's rate limits
    count in the cache: each test starts on public with an empty cache."""
    use_public_schema()
    for alias in ("default", "entitlements"):
        caches[alias].clear()
    hosts.forget_all()
    yield
    use_public_schema()


def site_client(site: Site) -> Client:
    """A browser-like client on the organisation's own host."""
    return Client(HTTP_HOST=site.host)


def signed_in(site: Site, role: str) -> Client:
    """A client on the organisation's host with a session for the user with ``role``."""
    client = site_client(site)
    with schema_context(site.organisation.schema_name):
        client.force_login(site.user(role))
    return client


@pytest.fixture
def catalogue(transactional_db: None) -> None:
    """Tests with committed data (threads, the live server) end with a flush of every
    table, the plan catalogue included; put it back the way its data migration does.
    (Django's serialized_rollback cannot: Playwright's event loop hides the connection
    that holds the serialized data.)"""
    if not Plan.objects.exists():
        migration = importlib.import_module(
            "subscriptions.migrations.0002_catalogue_and_append_only_audit"
        )
        migration.load_catalogue(django_apps, None)


@pytest.fixture
def in_northwind(northwind: Site) -> Iterator[Site]:
    """Run the test body inside northwind's schema (for service tests)."""
    with schema_context(northwind.organisation.schema_name):
        yield northwind


# --- The job queue -----------------------------------------------------------------------


class EmailQueue:
    """The emails queued (``send_email`` jobs) after this object was made, in the test's
    transaction."""

    def __init__(self, *, since_now: bool = True) -> None:
        newest = ProcrastinateJob.objects.aggregate(newest=Max("id"))["newest"]
        self.after = (newest or 0) if since_now else 0

    def jobs(self) -> list[ProcrastinateJob]:
        jobs = ProcrastinateJob.objects.filter(
            task_name=send_email.name, status="todo", id__gt=self.after
        )
        return list(jobs.order_by("id"))

    def queued(self) -> list[dict[str, Any]]:
        """The queued emails' arguments (subject, body, to), oldest first."""
        return [job.args for job in self.jobs()]

    def send(self) -> list[EmailMessage]:
        """Send them as a worker would: call ``send_email``'s body for each job, then take
        the job off the queue. Returns the messages sent (also in ``mail.outbox``)."""
        jobs, sent_before = self.jobs(), len(mail.outbox)
        for job in jobs:
            send_email(**job.args)
        if jobs:
            with connection.cursor() as cursor:  # the job models are read-only
                cursor.execute(
                    "DELETE FROM procrastinate_jobs WHERE id = ANY(%s)", [[job.id for job in jobs]]
                )
        return list(mail.outbox[sent_before:])


def queued_emails() -> list[dict[str, Any]]:
    """Every email waiting in the queue (the jobs' arguments), oldest first."""
    return EmailQueue(since_now=False).queued()


def send_queued_emails() -> list[EmailMessage]:
    """Send every email waiting in the queue, as a worker would; returns them."""
    return EmailQueue(since_now=False).send()


@contextmanager
def sending_queued_emails(*, send: bool = True) -> Iterator[EmailQueue]:
    """The emails queued inside the block, sent when it ends (``send=False``: when the test
    calls ``.send()``), as ``django_capture_on_commit_callbacks(execute=True)`` did when
    emails left through ``on_commit``. Emails queued before the block stay queued."""
    queue = EmailQueue()
    yield queue
    if send:
        queue.send()


def empty_the_queue() -> None:
    """Remove every job, event and worker (tests with committed data must: the flush after
    them empties only the tables of Django's own models)."""
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers"
        )


@pytest.fixture(autouse=True)
def _empty_the_queue_after_committed_tests(
    request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """Jobs that a test with committed data queued (its emails) must not reach the next."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if committed:
        with django_db_blocker.unblock():
            empty_the_queue()
