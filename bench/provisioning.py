"""How long an organisation's schema takes to provision as organisations grow (it must not
grow with them), and how long deploy migrations take across all of them: a no-op run
(every schema at the latest state), then real ones on a sample, one and two at a time.

Run: DATABASE_URL=... .venv/bin/python bench/provisioning.py [COUNT]   (default 200)
It works in a throw-away database `portal_bench_provisioning` on the same server (embedded
or DATABASE_URL) and drops it afterwards. Prints figures; asserts nothing.

"Provisioning" is ``Organisation.create_schema`` (the template's replay); "creation" is
the whole ``create_organisation`` (tenant row, schema, domain, subscription, department,
primary contact with a fast test password hasher). The first organisation also captures
the schema template.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # the settings want a secret key otherwise

SAMPLE = 20  # organisations put behind for the real migrations, per run


def milliseconds(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, "
        f"mean {statistics.mean(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
    )


def catalog_size() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_namespace)"
        )
        relations, schemas = cursor.fetchone()
    return relations, schemas


def put_behind(schema_names: list[str]) -> None:
    """Take the sessions app's migration back in these schemas and record an older state."""
    from django.core.management import call_command

    from portal.schemas.state import STATE_PREFIX, record_state

    for schema_name in schema_names:
        call_command(
            "migrate_schemas",
            "sessions",
            "zero",
            schema_name=schema_name,
            executor="standard",
            interactive=False,
            verbosity=0,
        )
        record_state(schema_name, STATE_PREFIX + "older")


def deploy(*args: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("migrate_organisations", *args, stdout=out, stderr=out)
    return time.perf_counter() - started, out.getvalue()


def create_organisations(count: int) -> tuple[list[float], list[float]]:
    """Create ``count`` organisations; the seconds each one's provisioning and creation took
    (``bench/tenants.py`` builds them the same way)."""
    from bench.tenants import create_organisations as build

    return build(count)


def print_provisioning(provisioning: list[float], creation: list[float]) -> None:
    count, tenth = len(creation), max(len(creation) // 10, 1)
    relations, schemas = catalog_size()
    print(f"\n{count} organisations; the catalog holds {relations} relations, {schemas} schemas")
    print(
        f"first organisation (captures the template): provisioning "
        f"{provisioning[0] * 1000:.0f} ms, creation {creation[0] * 1000:.0f} ms"
    )
    for title, part in (
        (f"first 10% (2nd to {tenth}th)", slice(1, max(tenth, 2))),
        (f"last 10% ({count - tenth + 1}th to {count}th)", slice(count - tenth, count)),
    ):
        print(f"{title}:")
        print(f"  provisioning: {milliseconds(provisioning[part])}")
        print(f"  creation:     {milliseconds(creation[part])}")


def measure_deploys(count: int) -> None:
    """A no-op deploy, django-tenants' no-op migrate for comparison, then real migrations
    on samples, one and two at a time."""
    from django.core.management import call_command

    from portal.schemas.state import migration_state, organisation_schemas

    started = time.perf_counter()
    states = organisation_schemas(migration_state())
    print(
        f"\nthe query for every schema's state: {(time.perf_counter() - started) * 1000:.0f} "
        f"ms for {len(states)} schemas, {sum(s.current for s in states)} at the latest state"
    )
    seconds, _ = deploy()
    print(
        f"no-op deploy (migrate_organisations, public schema included): {seconds:.1f} s, "
        f"{seconds / count * 1000:.2f} ms per organisation"
    )
    seconds, _ = deploy("--organisations-only")
    print(f"  organisations only: {seconds * 1000:.0f} ms")

    names = [s.schema_name for s in states]
    reference = names[-5:]
    started = time.perf_counter()
    for schema_name in reference:
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=schema_name,
            executor="standard",
            interactive=False,
            verbosity=0,
        )
    seconds = (time.perf_counter() - started) / len(reference)
    print(f"  django-tenants' no-op migrate_schemas: {seconds * 1000:.0f} ms per organisation")

    for parallel, sample in ((1, names[:SAMPLE]), (2, names[SAMPLE : 2 * SAMPLE])):
        put_behind(sample)
        seconds, output = deploy("--organisations-only", f"--parallel={parallel}")
        print(
            f"real migrations, {parallel} at a time: {output.count(' migrated in ')} of "
            f"{len(sample)} organisations behind migrated in {seconds:.1f} s "
            f"({seconds / len(sample) * 1000:.0f} ms each), the other {count - len(sample)} "
            "skipped"
        )


def main(count: int) -> None:
    from django.test.utils import setup_test_environment

    from bench import setup_django

    setup_django()
    from portal.db.roles import connect_as_owner

    connect_as_owner()  # it makes and drops its own database
    setup_test_environment(debug=False)  # production keeps no list of statements
    from django.conf import settings
    from django.db import connection

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection.settings_dict["TEST"]["NAME"] = "portal_bench_provisioning"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print_provisioning(*create_organisations(count))
        measure_deploys(count)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
