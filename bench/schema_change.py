"""A real additive migration across N organisations (issue 26, point 2): every organisation's
schema one migration behind (a nullable column, an index and a new table, in an app of
``TENANT_APPS`` made for the bench), then ``manage.py migrate_organisations --parallel P`` as a
deploy runs it: the first schema migrated by Django, the others replaying its statements
(``portal/schemas/replay.py``). Prints the deploy's time, each path's time per schema and the
projection to 10,000; asserts nothing.

Run: DATABASE_URL=... .venv/bin/python bench/schema_change.py [N] [P]   (default 1000, 2). It
works in a throw-away database ``portal_bench_schema_change`` and drops it afterwards.
"""

from __future__ import annotations

import importlib
import os
import re
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

DATABASE_NAME = "portal_bench_schema_change"
APP = "bench_schema_change"

FIRST = """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Memo",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200)),
            ],
        ),
    ]
"""

SECOND = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bench_schema_change", "0001_initial")]
    operations = [
        migrations.AddField("memo", "note", models.TextField(null=True)),
        migrations.AddIndex("memo", models.Index(fields=["text"], name="bench_memo_text")),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("label", models.CharField(max_length=50)),
            ],
        ),
    ]
"""


def _app(root: Path) -> Path:
    """The bench's app, with its first migration only."""
    migrations = root / APP / "migrations"
    migrations.mkdir(parents=True)
    (root / APP / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(FIRST)
    return migrations


def main(count: int, parallel: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-schema-change-"))
    migrations = _app(root)
    sys.path.insert(0, str(root))
    from django.conf import settings

    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, APP]
    settings.TENANT_APPS = [*settings.TENANT_APPS, APP]
    from bench import setup_django

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from bench.tenants import create_organisations, machine
    from portal.db.roles import connect_as_owner
    from portal.schemas import provisioning, state

    connect_as_owner()
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"Building {count} organisations in {DATABASE_NAME}", flush=True)
        create_organisations(count)
        connection.close()

        # The release: one more migration in the app.
        (migrations / "0002_more.py").write_text(SECOND)
        importlib.invalidate_caches()
        state.project_migrations.cache_clear()
        provisioning._current_key.cache_clear()
        provisioning._templates.clear()

        print(f"migrate_organisations --parallel {parallel}...", flush=True)
        out, err = StringIO(), StringIO()
        started = time.perf_counter()
        call_command(
            "migrate_organisations",
            "--organisations-only",
            f"--parallel={parallel}",
            stdout=out,
            stderr=err,
        )
        took = time.perf_counter() - started
        server = machine()
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    lines = out.getvalue().splitlines()
    times = {
        how: [float(found) for found in re.findall(rf" {how} in ([\d.]+) s", "\n".join(lines))]
        for how in ("migrated", "replayed")
    }
    print()
    print(f"machine: {server}")
    print(f"organisations: {count}, one migration behind (nullable column, index, new table)")
    print(f"migrate_organisations --parallel {parallel}: {took:.1f} s in all, {err.getvalue()!r}")
    for how, values in times.items():
        if values:
            print(
                f"  {how} by {'Django' if how == 'migrated' else 'replay'}: {len(values)}, "
                f"median {statistics.median(values) * 1000:.1f} ms, "
                f"max {max(values) * 1000:.1f} ms"
            )
    per_schema = statistics.median(times["replayed"] or times["migrated"]) / parallel
    fixed = took - sum(times["migrated"]) - sum(times["replayed"]) / parallel
    projected = fixed + sum(times["migrated"]) + 10_000 * per_schema
    print(
        f"  projected to 10,000: {projected / 60:.1f} min ({fixed:.1f} s before the first "
        f"schema, then {per_schema * 1000:.1f} ms per schema with {parallel} processes; "
        "target ≤ 10 min)"
    )
    print("\n".join(lines[:3]))


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_TENANTS") or 1000),
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
    )
