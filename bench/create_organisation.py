"""How long creating an organisation takes (schema, migrations, domain, department,
primary contact), and how many queries a dashboard request makes as organisations grow.

Run: .venv/bin/python bench/create_organisation.py [COUNT]
It works in a throw-away database `portal_bench` on the same server (embedded or
DATABASE_URL) and drops it afterwards. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main(count: int) -> None:
    from django.test.utils import setup_test_environment

    from bench import setup_django

    setup_django()
    from portal.db.roles import connect_as_owner

    connect_as_owner()  # it makes and drops its own database
    setup_test_environment()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from organisations.services import create_organisation
    from portal.tenancy import use_public_schema

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATABASES["default"]["NAME"] = "portal_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        durations = []
        for number in range(count):
            started = time.perf_counter()
            created = create_organisation(
                name=f"Bench {number}",
                slug=f"bench-{number}",
                primary_contact_email=f"owner@bench{number}.test",
                primary_contact_password="x" * 12,
            )
            durations.append(time.perf_counter() - started)
            if number in {0, count - 1}:
                client = Client(HTTP_HOST=f"bench-{number}.{settings.PORTAL_BASE_DOMAIN}")
                with tenant_context(created.organisation):
                    client.force_login(User.objects.get())
                with CaptureQueriesContext(connection) as queries:
                    client.get("/")
                use_public_schema()
                print(f"dashboard with {number + 1:>3} organisations: {len(queries)} queries")

        print(
            f"create_organisation x{count}: median {statistics.median(durations) * 1000:.0f} ms, "
            f"max {max(durations) * 1000:.0f} ms, first {durations[0] * 1000:.0f} ms"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
