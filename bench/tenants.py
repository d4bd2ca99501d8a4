"""What N organisations cost, in one table: the queries that resolve a tenant, page latency
on an organisation's site against the bare public view and against django-tenants' stock
middleware measured in the same run, a connection's memory as it serves every organisation
(``bench/connections.py``), a no-op deploy migration, and the reports that read every
organisation (issue 11, point 8), at N / 10 and N. Provisioning is measured interleaved
between two sizes by ``bench/provisioning_interleaved.py``; pages over HTTP, with traffic
spread over every organisation, by ``bench/served.py``.

Run: DATABASE_URL=... .venv/bin/python -m bench.tenants [N]   (N: argv, else BENCH_TENANTS,
else 1000). It reads the organisations kept by ``bench/built.py`` (on the same server,
embedded or DATABASE_URL; built first if need be) and changes nothing in them but a staff
user and sessions. Prints figures; asserts nothing.

Pages go through ``django.test.Client`` (in-process WSGI, no network) with ``DEBUG`` off;
timings and query counts come from separate passes, because counting queries turns on the
debug cursor. Latency samples cycle over three organisations (first, middle, last); the
two middlewares (and, for the bare view, the public host) take turns request by request,
in an order rotated every round, so that drift and noise fall on all of them.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # the settings want a secret key otherwise

# After the settings module is named: django-tenants reads settings on import.
from django_tenants.middleware.main import TenantMainMiddleware

from bench import connections as connection_memory

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.test import Client

    from accounts.models import User
    from portal.http import PortalRequest
    from portal.models import Organisation

DEFAULT_COUNT = 1000
ROUNDS = 10  # rounds of the latency pass; each alternates which middleware goes first
PER_ROUND = 20  # requests per page, middleware and round: 200 samples per figure
# The bare view takes a few tenths of a millisecond and its target is within 5%: ten times
# the samples (cheap) narrow its p50, though runs still differ by several percent.
BARE_PER_ROUND = 10 * PER_ROUND
WARM_UP = 5  # untimed requests per client and page before the timed rounds
ADMIN_REQUESTS = 20
REPORT_RUNS = 3

OUR_MIDDLEWARE = "portal.middleware.OrganisationMiddleware"
STOCK_MIDDLEWARE = f"{__name__}.StockLookupMiddleware"


class StockLookupMiddleware(TenantMainMiddleware):
    """django-tenants' ``TenantMainMiddleware`` as shipped: the tenant found with its own
    query (``Domain`` joined to the tenant) on every request. Stock alone cannot serve an
    organisation's pages, whose views read ``request.organisation``
    (``portal.http.OrganisationRequest``), so this adds that attribute and nothing else."""

    def process_request(self, request: PortalRequest) -> HttpResponse | None:
        response: HttpResponse | None = super().process_request(request)
        request.organisation = getattr(request, "tenant", None)
        return response


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    status: int  # what a working page answers; anything else stops the bench
    per_round: int = PER_ROUND


BARE = Page("bare view /favicon.ico", "/favicon.ico", 302, BARE_PER_ROUND)
TENANT_PAGES = [
    BARE,
    Page("dashboard /", "/", 200),
    Page("Store plans /store/plans/", "/store/plans/", 200),
]
VARIANTS = {"ours": OUR_MIDDLEWARE, "stock": STOCK_MIDDLEWARE}


@dataclass(frozen=True)
class Queries:
    """Statements a request sent: the queries, and apart from them the ``SET
    search_path`` that a change of schema costs."""

    queries: int
    set_search_path: int


@dataclass(frozen=True)
class Reports:
    """The all-tenant reads, measured with ``organisations`` organisations."""

    organisations: int
    subscriptions_seconds: float
    subscriptions_queries: Queries
    changelist_p50: float
    changelist_queries: Queries


@dataclass(frozen=True)
class Deploys:
    total: float
    organisations_only: float
    summary: str  # the command's own line: how many migrated, how many skipped


# --- Formatting -------------------------------------------------------------------------


def duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds >= 0.0001:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1_000_000:.1f} µs"


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def ratio(numerator: list[float], denominator: list[float]) -> str:
    """p50 and p95 of one sample over the other's."""
    return f"{p50(numerator) / p50(denominator):.2f}× / {p95(numerator) / p95(denominator):.2f}×"


def latency(values: list[float]) -> str:
    return f"p50 {duration(p50(values))}, p95 {duration(p95(values))}"


def counted(items: list[Queries]) -> str:
    """Queries (and SETs) over several requests: one figure, or the range when they differ."""

    def spread(values: list[int]) -> str:
        return str(min(values)) if min(values) == max(values) else f"{min(values)}–{max(values)}"

    queries = spread([item.queries for item in items])
    sets = spread([item.set_search_path for item in items])
    return f"{queries} q" + ("" if sets == "0" else f" + {sets} SET")


FIGURES = ("Figure", "Value", "÷ bare public (p50 / p95)", "÷ stock (p50 / p95)", "Target")


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = FIGURES) -> None:
    """A markdown table whose columns also line up as plain text."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


# --- Measuring --------------------------------------------------------------------------


@contextmanager
def counting() -> Iterator[list[Queries]]:
    """Yields a list that holds, on leaving, what the block sent to the database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    found: list[Queries] = []
    with CaptureQueriesContext(connection) as captured:
        yield found
    sets = sum(q["sql"].upper().startswith("SET SEARCH_PATH") for q in captured.captured_queries)
    found.append(Queries(len(captured) - sets, sets))


def queries_of(client: Client, path: str) -> Queries:
    with counting() as found:
        client.get(path)
    return found[0]


def timed_get(client: Client, path: str) -> float:
    started = time.perf_counter()
    client.get(path)
    return time.perf_counter() - started


@contextmanager
def middleware(first: str) -> Iterator[None]:
    """The project's middleware with ``first`` in place of ours, for the clients whose
    first request is made inside: a client builds its chain on its first request and keeps
    it (Django does not rebuild it when settings change), so clients of both variants can
    then take turns request by request."""
    from django.conf import settings
    from django.test import override_settings

    chain = [first if name == OUR_MIDDLEWARE else name for name in settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=chain):
        yield


def check(client: Client, page: Page, host: str) -> None:
    """Stop at once if a page does not answer as it should: its timing would mean nothing."""
    response = client.get(page.path)
    if response.status_code != page.status:
        raise SystemExit(f"{host}{page.path} answered {response.status_code}, not {page.status}")


# --- Building ---------------------------------------------------------------------------


def create_organisations(
    count: int,
    on_progress: Callable[[int], None] = lambda done: None,
    numbers: Iterable[int] | None = None,
) -> tuple[list[float], list[float]]:
    """Create ``count`` organisations (``bench-<number>`` for each of ``numbers``, by default
    0 to ``count`` - 1); the seconds each one's provisioning (``Organisation.create_schema``,
    timed apart) and whole creation took."""
    from organisations.services import create_organisation
    from portal.models import Organisation

    provisioning: list[float] = []
    create_schema = Organisation.create_schema

    def timed_create_schema(self: Organisation, *args: Any, **kwargs: Any) -> bool:
        started = time.perf_counter()
        try:
            return create_schema(self, *args, **kwargs)
        finally:
            provisioning.append(time.perf_counter() - started)

    Organisation.create_schema = timed_create_schema  # type: ignore[method-assign]
    creation: list[float] = []
    began = time.perf_counter()
    try:
        for done, number in enumerate(range(count) if numbers is None else numbers):
            started = time.perf_counter()
            create_organisation(
                name=f"Bench {number}",
                slug=f"bench-{number}",
                primary_contact_email=f"owner@bench{number}.test",
                primary_contact_password="x" * 12,
            )
            creation.append(time.perf_counter() - started)
            if (done + 1) % max(count // 10, 1) == 0:
                print(
                    f"  {done + 1:>6} organisations, {time.perf_counter() - began:6.0f} s; "
                    f"the last provisioned in {duration(provisioning[-1])}",
                    flush=True,
                )
            on_progress(done + 1)
    finally:
        Organisation.create_schema = create_schema  # type: ignore[method-assign]
    return provisioning, creation


def create_staff() -> User:
    """A vendor superuser in the public schema, for the admin's organisation list."""
    from accounts.models import User
    from portal.tenancy import use_public_schema

    use_public_schema()
    staff = User.objects.filter(email="staff@bench.test").first()
    return staff or User.objects.create_superuser("staff@bench.test", None)


def signed_in(host: str, organisation: Organisation | None, user: User) -> Client:
    """A client for ``host``, signed in as ``user`` in the organisation's schema (each
    schema has its own sessions), or in public with ``organisation`` None."""
    from django.test import Client
    from django_tenants.utils import tenant_context

    from portal.tenancy import use_public_schema

    client = Client(HTTP_HOST=host)
    if organisation is None:
        use_public_schema()
        client.force_login(user)
    else:
        with tenant_context(organisation):
            client.force_login(user)
    use_public_schema()
    return client


# --- The figures ------------------------------------------------------------------------


def measure_reports(staff: User, organisations: int) -> Reports:
    """``manage.py subscriptions --format json`` and the admin's organisation list: both
    read every organisation, so their queries must not grow with them."""
    from django.conf import settings
    from django.core.management import call_command

    from portal.tenancy import use_public_schema

    def report() -> None:
        call_command("subscriptions", format="json", stdout=StringIO())

    use_public_schema()
    with counting() as report_queries:
        report()
    runs = []
    for _ in range(REPORT_RUNS):
        started = time.perf_counter()
        report()
        runs.append(time.perf_counter() - started)

    admin = signed_in(settings.PORTAL_BASE_DOMAIN, None, staff)
    changelist = Page("admin organisation list", "/admin/portal/organisation/", 200)
    check(admin, changelist, settings.PORTAL_BASE_DOMAIN)
    list_queries = queries_of(admin, changelist.path)
    timings = [timed_get(admin, changelist.path) for _ in range(ADMIN_REQUESTS)]
    return Reports(organisations, min(runs), report_queries[0], p50(timings), list_queries)


def sample_organisations(count: int) -> list[tuple[Organisation, User]]:
    """The first, middle and last organisation with their primary contact."""
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from portal.models import Organisation

    picked = []
    for number in sorted({0, count // 2, count - 1}):
        organisation = Organisation.objects.get(slug=f"bench-{number}")
        with tenant_context(organisation):
            contact = User.objects.get(is_primary_contact=True)
        picked.append((organisation, contact))
    return picked


def measure_pages(
    organisations: list[tuple[Organisation, User]],
) -> tuple[dict[str, list[float]], dict[str, list[Queries]]]:
    """Latency samples and query counts, keyed ``"<variant> <page path>"`` (and
    ``"public /favicon.ico"``). The variants (and the public bare view) take turns
    request by request, in an order rotated every round, so that a slower moment of a
    shared machine falls on all of them; successive requests of a variant go to the
    organisations in turn, as a server's do."""
    from django.conf import settings
    from django.test import Client

    from portal.selectors import organisation_host

    base = settings.PORTAL_BASE_DOMAIN
    public = Client(HTTP_HOST=base)
    # Pages signed in as the primary contact; the bare view anonymous, as on the public
    # host, so that the two requests differ only by their host.
    clients: dict[str, dict[Page, list[Client]]] = {}
    for variant, first in VARIANTS.items():
        with middleware(first):
            clients[variant] = {page: [] for page in TENANT_PAGES}
            for organisation, contact in organisations:
                host = organisation_host(organisation.slug)
                client = signed_in(host, organisation, contact)
                anonymous = Client(HTTP_HOST=host)
                for page in TENANT_PAGES:
                    page_client = anonymous if page is BARE else client
                    for _ in range(WARM_UP):
                        check(page_client, page, host)
                    clients[variant][page].append(page_client)
    for _ in range(WARM_UP):
        check(public, BARE, base)

    queries: dict[str, list[Queries]] = {"public /favicon.ico": [queries_of(public, BARE.path)]}
    for variant in VARIANTS:
        for page in TENANT_PAGES:
            queries[f"{variant} {page.path}"] = [
                queries_of(client, page.path) for client in clients[variant][page]
            ]

    samples: dict[str, list[float]] = {key: [] for key in queries}
    for round_number in range(ROUNDS):
        for page in TENANT_PAGES:
            pools = {f"{variant} {page.path}": clients[variant][page] for variant in VARIANTS}
            if page is BARE:
                pools["public /favicon.ico"] = [public]
            # Each takes every place in the turn in some round: none always follows the
            # same one.
            keys, shift = list(pools), round_number % len(pools)
            turn = keys[shift:] + keys[:shift]
            for i in range(page.per_round):
                for key in turn:
                    pool = pools[key]
                    samples[key].append(timed_get(pool[i % len(pool)], page.path))
    return samples, queries


def measure_lookups(organisation: Organisation, contact: User) -> dict[str, Queries]:
    """What resolving the tenant costs: a bare view on the organisation's host sends
    nothing else, so its statements are the lookup's. Warm: the host cache holds the
    host; cold: the host cache (both layers) emptied just before."""
    from portal import hosts
    from portal.selectors import organisation_host

    host = organisation_host(organisation.slug)
    found: dict[str, Queries] = {}
    for variant, first in VARIANTS.items():
        with middleware(first):
            client = signed_in(host, organisation, contact)
            client.get(BARE.path)
            found[f"{variant} warm"] = queries_of(client, BARE.path)
            hosts.forget_all()
            found[f"{variant} cold"] = queries_of(client, BARE.path)
    return found


def measure_deploys() -> Deploys:
    """``migrate_organisations`` with every schema at the latest state: the public schema
    and one catalog query, every organisation skipped."""
    from django.core.management import call_command

    from portal.tenancy import use_public_schema

    def deploy(*args: str) -> tuple[float, str]:
        out = StringIO()
        started = time.perf_counter()
        call_command("migrate_organisations", *args, verbosity=0, stdout=out, stderr=out)
        seconds = time.perf_counter() - started
        use_public_schema()
        return seconds, out.getvalue()

    total, output = deploy()
    organisations_only, _ = deploy("--organisations-only")
    summary = next((line for line in output.splitlines() if "to migrate" in line), "?")
    return Deploys(total, organisations_only, summary.rstrip("."))


def every_schema() -> list[str]:
    from portal.models import Organisation

    return list(Organisation.objects.order_by("pk").values_list("schema_name", flat=True))


def machine() -> str:
    from django import get_version
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone()
    return (
        f"PostgreSQL {server.split()[0]}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Django {get_version()}"
    )


def catalog_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_namespace)"
        )
        relations, schemas = cursor.fetchone()
    return f"{relations} relations, {schemas} schemas"


# --- The table --------------------------------------------------------------------------


def page_rows(
    samples: dict[str, list[float]], queries: dict[str, list[Queries]]
) -> list[tuple[str, ...]]:
    public = samples["public /favicon.ico"]
    rows: list[tuple[str, ...]] = [
        (
            "public host: bare view /favicon.ico",
            f"{latency(public)}, {counted(queries['public /favicon.ico'])}",
            "1 (denominator)",
            "",
            "",
        )
    ]
    for page in TENANT_PAGES:
        ours, stock = samples[f"ours {page.path}"], samples[f"stock {page.path}"]
        target = "÷ public ≤ 1.05×" if page is BARE else "queries flat in N"
        rows.append(
            (
                f"organisation: {page.label}",
                f"{latency(ours)}, {counted(queries[f'ours {page.path}'])}",
                ratio(ours, public),
                ratio(ours, stock),
                target,
            )
        )
        rows.append(
            (
                "  same, stock middleware",
                f"{latency(stock)}, {counted(queries[f'stock {page.path}'])}",
                ratio(stock, public),
                "1",
                "",
            )
        )
    return rows


def lookup_rows(lookups: dict[str, Queries]) -> list[tuple[str, ...]]:
    return [
        (
            f"tenant lookup, {variant}, {state} cache",
            counted([lookups[f"{variant} {state}"]]),
            "",
            "",
            "0 q" if (variant, state) == ("ours", "warm") else "",
        )
        for variant in VARIANTS
        for state in ("warm", "cold")
    ]


def deploy_rows(deploys: Deploys, count: int) -> list[tuple[str, ...]]:
    """The no-op deploy, and what it would take for 10,000 organisations if the
    organisations' part grew in proportion (the public schema's part does not grow)."""
    public_part = deploys.total - deploys.organisations_only
    projected = public_part + deploys.organisations_only * 10_000 / count
    return [
        (
            "no-op migrate_organisations",
            f"{duration(deploys.total)} total, {duration(deploys.total / count)} per "
            f"organisation ({deploys.summary})",
            "",
            "",
            "",
        ),
        (
            "  --organisations-only",
            f"{duration(deploys.organisations_only)} total, "
            f"{duration(deploys.organisations_only / count)} per organisation",
            "",
            "",
            "",
        ),
        (
            "  projected to 10,000 (linear)",
            duration(projected),
            "",
            "",
            "≤ 2 min",
        ),
    ]


def report_rows(reports: list[Reports]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for report in reports:
        n = report.organisations
        rows.append(
            (
                f"subscriptions --format json, N={n}",
                f"{duration(report.subscriptions_seconds)} best of {REPORT_RUNS} "
                f"({duration(report.subscriptions_seconds / n)} per organisation), "
                f"{counted([report.subscriptions_queries])}",
                "",
                "",
                "queries flat",
            )
        )
    for report in reports:
        rows.append(
            (
                f"admin organisation list, N={report.organisations}",
                f"p50 {duration(report.changelist_p50)}, {counted([report.changelist_queries])}",
                "",
                "",
                "flat",
            )
        )
    return rows


def main(count: int) -> None:

    from bench import built, setup_django

    setup_django()
    from portal.db.roles import connect_as_owner

    connect_as_owner()  # it makes databases (bench/built.py)
    from django.conf import settings
    from django.db import connection

    # DEBUG off as in production (no list of statements kept), without
    # setup_test_environment: its template instrumentation would make the test client
    # copy every template context, inflating rendered pages against the bare view.
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PORTAL_STAFF_MFA = False  # the bench's staff has no TOTP
    # WhiteNoise warns once that `collectstatic` was not run; the bench serves no static file.
    warnings.filterwarnings("ignore", message="No directory at: ")
    print(f"Reports at {count // 10} organisations...", flush=True)
    built.use(max(count // 10, 1))
    reports = [measure_reports(create_staff(), max(count // 10, 1))]
    built.use(count)
    staff = create_staff()
    reports.append(measure_reports(staff, count))
    catalog = catalog_size()
    print("Pages...", flush=True)
    organisations = sample_organisations(count)
    samples, queries = measure_pages(organisations)
    lookups = measure_lookups(*organisations[-1])
    print("Connection memory...", flush=True)
    memory = connection_memory.measure(every_schema())
    print("No-op deploys...", flush=True)
    deploys = measure_deploys()
    connection.close()

    print()
    print_table(
        [
            ("organisations (N)", str(count), "", "", ""),
            ("machine", machine(), "", "", ""),
            ("catalog", catalog, "", "", ""),
            *lookup_rows(lookups),
            *page_rows(samples, queries),
            *memory,
            *deploy_rows(deploys, count),
            *report_rows(reports),
        ]
    )


def organisations_wanted() -> int:
    if len(sys.argv) > 1:
        return int(sys.argv[1])
    return int(os.environ.get("BENCH_TENANTS") or DEFAULT_COUNT)


if __name__ == "__main__":
    main(organisations_wanted())
