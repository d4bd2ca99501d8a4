"""How long ``run_billing`` takes for COUNT subscriptions due the same day, and how many
queries it sends: per subscription, at two sizes (COUNT/10 and COUNT), and the
``SET search_path`` among them (the work must not grow with tenant schemas). A second
run for the same day must find nothing.

Run: DATABASE_URL=... .venv/bin/python bench/run_billing.py [COUNT]   (default 10000)
It works in a throw-away database `portal_bench_billing` on the same server (embedded or
DATABASE_URL) and drops it afterwards. Prints figures; asserts nothing.

Organisations, subscriptions, the ledger, invoices and the audit log are in the public
schema, so the due organisations are bulk-created rows without a schema (creating a
schema takes about a second), plus REAL_ORGANISATIONS made with ``create_organisation``
(schema, migrations, users) in the large run. Every subscription's period ends on the
day before BENCH_DAY, 28 Feb 2027: monthly ones anchored on the 28th to 31st of a month,
annual ones on 28 Feb or 29 Feb (2024), on the four plans (Free books no charge), both
cycles and both currencies.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # the settings want a secret key otherwise

if TYPE_CHECKING:
    from subscriptions.models import Plan

BENCH_DAY = date(2027, 2, 28)
REAL_ORGANISATIONS = 20
# (plan code, weight): a quarter on Free, whose renewals book no charge.
PLAN_MIX = [("free", 25), ("standard", 35), ("professional", 25), ("enterprise", 15)]
ANNUAL_ANCHORS = [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28)]


def monthly_anchors() -> list[date]:
    """Every 28th to 31st from January 2025 to January 2027 that exists."""
    anchors = []
    for month_index in range(25):
        year, month = 2025 + month_index // 12, month_index % 12 + 1
        for day in (28, 29, 30, 31):
            try:
                anchors.append(date(year, month, day))
            except ValueError:
                continue
    return anchors


def last_period_start(anchor: date, cycle: str, day: date) -> date:
    """The first day of the last period (kept on ``anchor``) that ends before ``day``."""
    from subscriptions.proration import period_end

    start = anchor
    while (end := period_end(start, cycle, anchor)) < day - timedelta(days=1):
        start = end + timedelta(days=1)
    return start


@dataclass(frozen=True)
class Terms:
    plan_code: str
    cycle: str
    seats: int
    currency: str
    anchor: date


def random_terms(rng: random.Random) -> Terms:
    plan_code = rng.choices([code for code, _ in PLAN_MIX], [w for _, w in PLAN_MIX])[0]
    cycle = "annual" if rng.random() < 0.3 else "monthly"
    anchor = rng.choice(ANNUAL_ANCHORS if cycle == "annual" else monthly_anchors())
    seats = rng.randint(1, 3) if plan_code == "free" else rng.randint(1, 50)
    currency = "USD" if rng.random() < 0.2 else "JPY"
    return Terms(plan_code, cycle, seats, currency, anchor)


@dataclass
class Prices:
    """List prices from the catalogue, one query per cycle and currency."""

    plans: dict[str, Plan]
    rates: dict[tuple[str, str], dict[int, Any]] = field(default_factory=dict)

    def of(self, terms: Terms) -> Any:
        from subscriptions.proration import cycle_price
        from subscriptions.selectors.catalogue import seat_rates

        key = (terms.cycle, terms.currency)
        if key not in self.rates:
            self.rates[key] = seat_rates(terms.cycle, terms.currency)
        rate = self.rates[key][self.plans[terms.plan_code].pk]
        return cycle_price(rate, terms.seats, terms.cycle)


def create_due_organisations(first: int, count: int, rng: random.Random, prices: Prices) -> None:
    """``count`` organisations without a schema (bulk rows: Organisation.save() would
    create one), each with its domain and a subscription due on BENCH_DAY."""
    from portal.models import Domain, Organisation, schema_name_for
    from portal.selectors import organisation_host
    from subscriptions.models import Subscription

    slugs = [f"bill-{number}" for number in range(first, first + count)]
    organisations = Organisation.objects.bulk_create(
        [
            Organisation(name=f"Billing {slug}", slug=slug, schema_name=schema_name_for(slug))
            for slug in slugs
        ],
        batch_size=2000,
    )
    Domain.objects.bulk_create(
        [
            Domain(domain=organisation_host(org.slug), tenant=org, is_primary=True)
            for org in organisations
        ],
        batch_size=2000,
    )
    subscriptions = []
    for organisation in organisations:
        terms = random_terms(rng)
        subscription = Subscription(
            organisation=organisation,
            plan=prices.plans[terms.plan_code],
            cycle=terms.cycle,
            seats=terms.seats,
            currency=terms.currency,
            billing_anchor=terms.anchor,
        )
        start = last_period_start(terms.anchor, terms.cycle, BENCH_DAY)
        subscription.begin_period(start, prices.of(terms))
        subscriptions.append(subscription)
    Subscription.objects.bulk_create(subscriptions, batch_size=2000)


def create_real_organisations(count: int, rng: random.Random) -> None:
    """``count`` organisations made as staff make them (schema, migrations, users), then
    their periods moved so that they are due on BENCH_DAY with the others; those on a paid
    plan schedule a move to Free for then (the run applies it, in their schemas)."""
    from organisations.services import create_organisation
    from subscriptions.models import Subscription
    from subscriptions.proration import period_end
    from subscriptions.services.scheduled_changes import schedule_change

    for number in range(count):
        terms = random_terms(rng)
        created = create_organisation(
            name=f"Real {number}",
            slug=f"real-{number}",
            primary_contact_email=f"owner@real{number}.test",
            primary_contact_password="x" * 12,
            plan_code=terms.plan_code,
            seats=terms.seats,
            cycle=terms.cycle,
            currency=terms.currency,
        )
        start = last_period_start(terms.anchor, terms.cycle, BENCH_DAY)
        Subscription.objects.filter(organisation=created.organisation).update(
            billing_anchor=terms.anchor,
            period_start=start,
            period_end=period_end(start, terms.cycle, terms.anchor),
        )
        if terms.plan_code != "free":  # a move to Free at the period's end, applied by the run
            schedule_change(created.organisation, "free", acting_user=None, today=start)


@dataclass
class QueryLog:
    """Every statement sent through Django's cursors (``connection.execute_wrapper``):
    how many, time spent in them, by SQL text."""

    count: int = 0
    seconds: float = 0.0
    by_sql: Counter[str] = field(default_factory=Counter)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1
            self.by_sql[sql] += 1

    @property
    def set_search_path(self) -> int:
        return sum(n for sql, n in self.by_sql.items() if sql.upper().startswith("SET SEARCH_PATH"))


@contextmanager
def logged_queries() -> Iterator[QueryLog]:
    from django.db import connection

    log = QueryLog()
    with connection.execute_wrapper(log):
        yield log


@dataclass(frozen=True)
class Measured:
    due: int
    renewed: int
    applied: int
    failed: int
    seconds: float
    queries: QueryLog
    ledger_lines: int
    invoices: int
    audit_events: int


def measure_run() -> Measured:
    from audit.models import AuditEvent
    from subscriptions.models import Invoice, LedgerLine, Subscription
    from subscriptions.services.billing import run_billing

    due = Subscription.objects.filter(period_end__lt=BENCH_DAY).count()
    before = (LedgerLine.objects.count(), Invoice.objects.count(), AuditEvent.objects.count())
    with logged_queries() as queries:
        started = time.perf_counter()
        report = run_billing(BENCH_DAY)
        seconds = time.perf_counter() - started
    after = (LedgerLine.objects.count(), Invoice.objects.count(), AuditEvent.objects.count())
    return Measured(
        due=due,
        renewed=len(report.renewed),
        applied=len(report.applied),
        failed=len(report.failed),
        seconds=seconds,
        queries=queries,
        ledger_lines=after[0] - before[0],
        invoices=after[1] - before[1],
        audit_events=after[2] - before[2],
    )


def print_run(title: str, run: Measured, schemas: int) -> None:
    print(f"\n{title}: {run.due} due, {schemas} tenant schemas in the database")
    print(
        f"  renewed {run.renewed} ({run.applied} with a scheduled change), "
        f"failed {run.failed}; wall {run.seconds * 1000:.0f} ms"
        + (f" ({run.seconds / run.renewed * 1000:.2f} ms per subscription)" if run.renewed else "")
        + f", {run.queries.seconds * 1000:.0f} ms of it in SQL statements"
    )
    print(
        f"  queries {run.queries.count}"
        + (f" ({run.queries.count / run.renewed:.2f} per subscription)" if run.renewed else "")
        + f", SET search_path {run.queries.set_search_path}"
    )
    print(
        f"  written: {run.ledger_lines} ledger lines, {run.invoices} invoices, "
        f"{run.audit_events} audit events"
    )


def print_statements(run: Measured, top: int = 10) -> None:
    per = max(run.renewed, 1)
    print("  statements (count, per subscription, SQL):")
    for sql, n in run.queries.by_sql.most_common(top):
        text = " ".join(sql.split())
        print(f"  {n:>7} {n / per:>5.2f}  {text[:150]}{'...' if len(text) > 150 else ''}")


def main(count: int) -> None:
    from django.test.utils import setup_test_environment

    from bench import setup_django

    setup_django()
    from portal.db.roles import connect_as_owner

    connect_as_owner()  # it makes and drops its own database
    # Production runs without DEBUG: no debug cursor keeping every statement.
    setup_test_environment(debug=False)
    from django.conf import settings
    from django.db import connection

    from portal.models import Organisation
    from subscriptions.models import Plan, Subscription

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection.settings_dict["TEST"]["NAME"] = "portal_bench_billing"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rng = random.Random(2027)
        prices = Prices({plan.code: plan for plan in Plan.objects.all()})
        small = max(count // 10, 1)

        started = time.perf_counter()
        create_due_organisations(0, small, rng, prices)
        print(f"set-up: {small} due organisations in {time.perf_counter() - started:.1f} s")
        small_run = measure_run()
        print_run(f"run_billing({BENCH_DAY}) at COUNT/10", small_run, 0)

        started = time.perf_counter()
        create_real_organisations(REAL_ORGANISATIONS, rng)
        real_seconds = time.perf_counter() - started
        started = time.perf_counter()
        create_due_organisations(small, count - REAL_ORGANISATIONS, rng, prices)
        print(
            f"\nset-up: {REAL_ORGANISATIONS} organisations with schemas in {real_seconds:.1f} s, "
            f"{count - REAL_ORGANISATIONS} without in {time.perf_counter() - started:.1f} s"
        )
        free = Subscription.objects.filter(period_end__lt=BENCH_DAY, plan__code="free").count()
        annual = Subscription.objects.filter(period_end__lt=BENCH_DAY, cycle="annual").count()
        print(f"due: {free} on Free (no charge), {annual} annual")
        full_run = measure_run()
        print_run(f"run_billing({BENCH_DAY}) at COUNT", full_run, REAL_ORGANISATIONS)
        print_statements(full_run)

        again = measure_run()
        print_run(f"run_billing({BENCH_DAY}) again, same day", again, REAL_ORGANISATIONS)

        # The same-day run sends only the run's fixed queries (what is due, reminders).
        print(f"\nqueries per subscription, beyond the {again.queries.count} of any run:")
        for run, schemas in ((small_run, 0), (full_run, REAL_ORGANISATIONS)):
            per = (run.queries.count - again.queries.count) / max(run.renewed, 1)
            print(
                f"  {run.renewed:>6} renewed, {schemas:>2} tenant schemas: {per:.3f} "
                f"({run.invoices / max(run.renewed, 1):.1%} charged, the others on Free)"
            )
        print(f"  {Organisation.objects.count()} organisations in the database")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
