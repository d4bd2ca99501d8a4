"""Organisations built once for the benchmarks, and kept.

Building 10,000 organisations takes about half an hour (``create_organisation`` one by one:
``bench/tenants.py``'s ``create_organisations``); the benchmarks that only read them share
them, and those that change them take a copy, a few minutes. ``use(count)`` points this
process's connection at ``portal_bench_<count>``, holding the organisations ``bench-0`` to
``bench-<count - 1>``, built first when it is missing or was built by other code: its
comment holds the schema template's key (every migration's name and source, Django, the
server: ``portal.schemas.provisioning.template_key``) and ``built``, written once every
organisation is there, so an interrupted build is started again. ``copy(count, name)``
makes a throw-away copy for a benchmark to change and ``drop(name)`` drops it.
``make bench-clean`` drops every kept database.

The connection must be the owner role's (``portal.db.roles.connect_as_owner``): it makes
databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench import ROOT

PREFIX = "portal_bench_"


def _server_cursor() -> Any:
    """A cursor on the server's maintenance database (Django's own, for CREATE DATABASE)."""
    from django.db import connection

    creation: Any = connection.creation  # _nodb_cursor is not in django-stubs
    return creation._nodb_cursor()


def name_of(count: int) -> str:
    return f"{PREFIX}{count}"


def point_at(name: str) -> None:
    """This process's connection on database ``name``, every cache of another database's
    state forgotten."""
    from django.core.cache import caches
    from django.db import connection

    from portal.schemas import provisioning

    connection.close()
    connection.settings_dict["NAME"] = name
    provisioning._templates.clear()
    for alias in caches:
        caches[alias].clear()


def app_role() -> dict[str, object]:
    """The app role's connection settings. With one role configured (a plain DATABASE_URL,
    as the test suite does), a role ``portal_app`` that owns nothing, as production's
    servers have: the migrations and every schema grant it what the app role has, so the
    kept organisations serve ``bench/served.py``'s gunicorn, whichever bench built them."""
    import psycopg
    from django.conf import settings
    from psycopg import sql

    app = dict(settings.DATABASES["default"])
    owner = settings.PORTAL_DATABASE_OWNER
    if owner["USER"] != settings.PORTAL_DATABASE_APP_ROLE:
        return app
    settings.PORTAL_DATABASE_APP_ROLE = "portal_app"
    with psycopg.connect(
        host=owner["HOST"] or None,
        port=owner["PORT"] or None,
        user=owner["USER"],
        password=owner["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'portal_app'").fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier("portal_app")))
    return {**app, "USER": "portal_app", "PASSWORD": ""}


def _comment(name: str) -> str | None:
    """The kept database's comment; None when there is no such database."""
    with _server_cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
            "WHERE datname = %s",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _expected_key() -> str:
    from portal.schemas.provisioning import current_template_key

    return current_template_key()


def use(count: int) -> str:
    """Point the connection at the kept database of ``count`` organisations, building it
    first if need be (or finishing an interrupted build); its name."""
    from django.db import connection

    name = name_of(count)
    app_role()
    key = _expected_key()
    comment = _comment(name)
    if comment == f"{key} built":
        point_at(name)
        print(f"Using the {count} organisations kept in {name}", flush=True)
        return name
    if comment != f"{key} building":
        if comment is not None:
            print(f"{name} was built by other code (another schema template): building anew")
        connection.settings_dict["TEST"]["NAME"] = name
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        point_at(name)
        with connection.cursor() as cursor:
            cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [f"{key} building"])
    point_at(name)
    _build(count)
    point_at(name)
    with connection.cursor() as cursor:
        cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [f"{key} built"])
    return name


def _missing(count: int) -> list[int]:
    from portal.models import Organisation

    there = set(Organisation.objects.values_list("slug", flat=True))
    return [number for number in range(count) if f"bench-{number}" not in there]


def _build(count: int) -> None:
    """Create the organisations missing from the kept database, in one process per CPU
    (``main --part``); the first captures the schema template, the others wait for it."""
    from django.db import connection

    missing = _missing(count)
    if not missing:
        return
    parts = min(os.cpu_count() or 1, len(missing))
    print(
        f"Building {len(missing)} of {count} organisations in {name_of(count)} "
        f"({parts} processes; kept for the next run)",
        flush=True,
    )
    connection.close()
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.built", "--part", str(part), str(parts), str(count)],
            cwd=ROOT,
        )
        for part in range(parts)
    ]
    failed = [process.args for process in processes if process.wait()]
    if failed:
        raise SystemExit(f"Building failed: {failed}")
    print(f"Built in {time.perf_counter() - started:.0f} s", flush=True)


def _build_part(part: int, parts: int, count: int) -> None:
    from bench.tenants import create_organisations

    point_at(name_of(count))
    numbers = _missing(count)[part::parts]
    create_organisations(len(numbers), numbers=numbers)


def copy(count: int, name: str) -> None:
    """A copy of the kept ``count`` organisations as database ``name`` (replacing one left
    by an earlier run), the connection pointed at it. File by file: at 10,000
    organisations (about 8 GB) a few minutes, where building them anew takes half an hour."""
    from django.db import connection

    use(count)
    connection.close()
    drop(name)
    started = time.perf_counter()
    with _server_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{name_of(count)}" STRATEGY FILE_COPY')
    point_at(name)
    print(f"Copied into {name} in {time.perf_counter() - started:.0f} s", flush=True)


def drop(name: str) -> None:
    from django.db import connection

    connection.close()
    with _server_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean() -> None:
    """Drop every kept database."""

    with _server_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"])
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        drop(name)
        print(f"dropped {name}")


def main(arguments: list[str]) -> None:
    """``built.py clean`` drops the kept databases; ``built.py N...`` builds them;
    ``--part K P N`` is one of ``_build``'s processes."""
    from django.conf import settings

    from bench import setup_django

    setup_django()
    from portal.db.roles import connect_as_owner

    connect_as_owner()
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    app_role()  # as the process that started this one (``_build``): the same template key
    if arguments == ["clean"]:
        clean()
    elif arguments[:1] == ["--part"]:
        _build_part(*(int(value) for value in arguments[1:4]))
    else:
        for count in arguments:
            use(int(count))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    main(sys.argv[1:])
