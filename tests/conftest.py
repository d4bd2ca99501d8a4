"""Shared fixtures: real PostgreSQL, real tenant schemas.

Two organisations (northwind, contoso) with a user in every role are created once per
session and committed; each test runs in a transaction that is rolled back, so tests
may change them freely. Tests that need a brand-new organisation create it inside their
own transaction (schema DDL is transactional in PostgreSQL).

The test database is made and migrated by the owner role; the tests then run as the app
role (portal/db/roles.py), through ``SET ROLE`` on every connection, so that its privileges
are the ones production has. ``owner_role()`` lends a test the owner's (to drop a schema it
made); ``database_urls()`` gives a subprocess both roles.

Emails go through the job queue: a service queues a ``send_email`` job in its transaction,
and ``send_queued_emails()`` sends them as a worker would, inside the test's transaction.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from time import monotonic, sleep
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.core.mail import EmailMessage
from django.db import connection, connections, transaction
from django.db.models import Max
from django.test import Client
from django.utils import translation
from django_tenants.utils import schema_context
from hypothesis import settings as hypothesis_settings
from procrastinate.contrib.django.models import ProcrastinateJob
from psycopg import sql
from pytest_django import DjangoDbBlocker

from accounts.models import User
from accounts.services import add_user, deactivate_user
from organisations.services import create_organisation
from portal import embedded_postgres, hosts
from portal.db.roles import connect_as_owner
from portal.models import Organisation
from portal.schemas.provisioning import schema_template
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


# --- The clock and the examples ----------------------------------------------------------
#
# Every test starts on one frozen moment, so that what a test computes from "today" and what
# the page or service it calls computes agree, whenever the suite runs: ``TESTS_CLOCK`` sets
# it (an ISO moment, or ``HH:MM:SS`` for today at that time in TIME_ZONE:
# ``TESTS_CLOCK=23:59:59 make test``); by default it is the moment the session began. The
# clock stands still (``tick=False``); ``on(day)`` moves a test to another day. Processes a
# test starts read the real clock, and so does the database (``now()``): tests of what it
# schedules are marked ``real_clock``. Hypothesis draws the same examples on every run (CI's
# profile); ``HYPOTHESIS_PROFILE=random`` draws new ones from a seed it prints, and
# ``--hypothesis-seed=N`` repeats them.


def _tests_clock(value: str, zone: ZoneInfo) -> datetime:
    if not value:
        return datetime.now(zone)
    if re.fullmatch(r"\d\d:\d\d:\d\d", value):
        return datetime.combine(datetime.now(zone).date(), time.fromisoformat(value), zone)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


TESTS_NOW = _tests_clock(os.environ.get("TESTS_CLOCK", ""), ZoneInfo(settings.TIME_ZONE))

hypothesis_settings.register_profile("fixed", derandomize=True, database=None)
hypothesis_settings.register_profile("random", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A random profile's seed is chosen here, so that the header can print it."""
    config.addinivalue_line(
        "markers",
        "real_clock: the test compares with a clock time-machine cannot move: the "
        "database's (now(): the job queue's retries, the events' timestamps) or another "
        "process's (the payment provider's signatures); it runs on the real clock, not the "
        "suite's frozen one",
    )
    random_profile = hypothesis_settings.get_current_profile_name() == "random"
    if random_profile and config.getoption("hypothesis_seed") is None:
        config.option.hypothesis_seed = str(random.randrange(2**32))


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = config.getoption("hypothesis_seed")
    examples = f"random, seed {seed} (--hypothesis-seed={seed} repeats them)" if seed else "fixed"
    return [f"tests' clock: {TESTS_NOW.isoformat()}; Hypothesis examples: {examples}"]


@pytest.fixture(scope="session", autouse=True)
def _frozen_clock() -> Iterator[None]:
    """From before the shared organisations are made to the end of the session."""
    with time_machine.travel(TESTS_NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _real_clock_when_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.node.get_closest_marker("real_clock"):
        yield
        return
    with time_machine.travel(time_machine.escape_hatch.time.time(), tick=True):
        yield


# --- The database's roles ----------------------------------------------------------------

TEST_APP_ROLE = "portal_app"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Before the test database is made: the embedded server started, when the settings
    name it (they load without starting it; so does ``pytest --collect-only``), every
    connection is the owner's, and the app role the migrations grant rights to exists (with
    one role configured, as with a plain DATABASE_URL, the tests make ``portal_app``)."""
    _start_embedded_database()
    if settings.PORTAL_DATABASE_OWNER["USER"] == settings.PORTAL_DATABASE_APP_ROLE:
        settings.PORTAL_DATABASE_APP_ROLE = TEST_APP_ROLE
        _ensure_role(TEST_APP_ROLE)
    else:  # kept for the processes tests start (database_urls)
        _app_password["password"] = str(settings.DATABASES["default"].get("PASSWORD") or "")
    connect_as_owner()


_app_password = {"password": ""}


def _start_embedded_database() -> None:
    """Without DATABASE_URL: start (or join) the embedded server for the session, point the
    settings at it, and export its address to the processes tests start."""
    if settings.DATABASES["default"]["HOST"] != embedded_postgres.NOT_STARTED:
        return
    server = embedded_postgres.start(settings.PORTAL_EMBEDDED_DATA_DIR)
    os.environ.update(embedded_postgres.urls(server))
    for database in (settings.DATABASES["default"], settings.PORTAL_DATABASE_OWNER):
        database["HOST"], database["PORT"] = str(server.socket_dir), str(server.port)


def _ensure_role(name: str) -> None:
    owner = settings.PORTAL_DATABASE_OWNER
    with psycopg.connect(
        host=owner["HOST"] or None,
        port=owner["PORT"] or None,
        user=owner["USER"],
        password=owner["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))


def _session_options(*, as_app: bool) -> None:
    """Every connection opened from now on starts as the app role (``-c role=``), or as
    the owner it logs in as."""
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    role = f"-c role={settings.PORTAL_DATABASE_APP_ROLE}"
    text = options.get("options", "").replace(role, "").strip()
    options["options"] = f"{text} {role}".strip() if as_app else text
    connections.close_all()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """The test database, migrated by the owner, with the schema template captured (as the
    deploy's migrate_organisations does); then the tests run as the app role."""
    with django_db_blocker.unblock():
        schema_template()
        _session_options(as_app=True)
    yield
    with django_db_blocker.unblock():
        _session_options(as_app=False)  # the owner drops the test database


@contextmanager
def harness_transaction() -> Iterator[None]:
    """A transaction a test opens around services of its own accord (an example undone, a
    lock held while another thread waits), marked as the test harness's as Django marks
    TestCase's: the money services' durable transactions then run inside it as they run
    inside every test's, while a caller's own transaction is still refused."""
    atomic = transaction.atomic()
    atomic._from_testcase = True  # type: ignore[attr-defined]  # as TestCase marks its own
    with atomic:
        yield


@contextmanager
def owner_role() -> Iterator[None]:
    """The test's connection acts as the owner role (to drop a schema it made), in its
    current transaction, then as the app role again."""
    with connection.cursor() as cursor:
        cursor.execute("SET ROLE NONE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{settings.PORTAL_DATABASE_APP_ROLE}"')


@pytest.fixture
def as_owner(db: None) -> Iterator[None]:
    """The test runs as the owner role (what the deploy's migrations do)."""
    with owner_role():
        yield


@pytest.fixture
def owner_connections() -> Iterator[None]:
    """For a test with committed data (``transaction=True``) whose work opens connections of
    its own (threads, forked processes) that must be the owner's: every connection is."""
    _session_options(as_app=False)
    yield
    _session_options(as_app=True)


def drop_schemas(*schema_names: str) -> None:
    """Drop schemas a test with committed data made (the flush after it leaves schemas),
    as their owner."""
    use_public_schema()
    with owner_role(), connection.cursor() as cursor:
        for name in schema_names:
            cursor.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def database_urls(**options: str) -> dict[str, str]:
    """DATABASE_URL (the app role) and DATABASE_OWNER_URL for a process the test starts, on
    this run's database; ``options`` go into the query (e.g. application_name)."""
    database, owner = settings.DATABASES["default"], settings.PORTAL_DATABASE_OWNER
    query = urlencode({"host": owner["HOST"], "port": owner["PORT"], **options})

    def url(user: str, password: str) -> str:
        secret = f":{quote(password, safe='')}" if password else ""
        return f"postgres://{quote(user, safe='')}{secret}@/{database['NAME']}?{query}"

    return {
        "DATABASE_URL": url(settings.PORTAL_DATABASE_APP_ROLE, _app_password["password"]),
        "DATABASE_OWNER_URL": url(owner["USER"], owner["PASSWORD"] or ""),
    }


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
    """Requests leave the connection on a tenant's schema and their language active (the
    locale middleware activates it and nothing deactivates it in tests), and allauth's rate
    limits count in the cache: each test starts on public, in the default language, with
    an empty cache."""
    use_public_schema()
    translation.deactivate()
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


def on(day: date) -> Any:
    """The real clock at noon of ``day`` in the portal's time zone (``time_machine``), for
    what reads today from the clock itself: commands, jobs, pages."""
    moment = datetime.combine(day, time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return time_machine.travel(moment, tick=False)


def confirmation_of(page: str, **fields: Any) -> dict[str, Any]:
    """What a Store (or admin) confirmation page's form sends: its idempotency key, its
    promise (the figures it shows, which the change must still have) and the seats and
    cycle it carries, with ``fields``."""
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    promise = re.search(r'name="promise" value="([0-9a-f]{32})"', page)
    assert key and promise, "the page carries a confirmation form"
    hidden = dict(re.findall(r'<input type="hidden" name="(seats|cycle)" value="([^"]*)"', page))
    return {"idempotency_key": key.group(1), "promise": promise.group(1), **hidden, **fields}


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
        for table in ("events", "periodic_defers", "jobs", "workers"):
            cursor.execute(f"DELETE FROM procrastinate_{table}")


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


# --- The local payment provider ----------------------------------------------------------
# localstripe in a process of its own (subscriptions/local_provider.py), over real HTTP
# through Stripe's SDK: never a mocked SDK.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def local_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe on 127.0.0.1 for the session, its state in a temporary file: its API's
    address (``STRIPE_API_BASE``)."""
    port = free_port()
    state = tmp_path_factory.mktemp("localstripe") / "state.pickle"
    command = ["-m", "subscriptions.local_provider", "--port", str(port), "--state", str(state)]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or monotonic() > deadline:
                process.kill()
                _, stderr = process.communicate()
                raise RuntimeError(f"localstripe did not start: {stderr!r}") from None
            sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_payments(settings: Any, local_provider: str) -> str:
    """Payments through Stripe's SDK to the local provider, in test mode."""
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = "subscriptions.stripe_gateway.StripeGateway"
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_local"
    settings.STRIPE_API_BASE = local_provider
    return local_provider
