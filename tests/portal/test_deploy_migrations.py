"""manage.py migrate_organisations: the organisations behind are migrated, those at the
latest state skipped after one query, a failing one reported while the others go on,
and a second run resumes with the ones left."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organisations.services import create_organisation
from portal.models import Organisation
from portal.schemas.provisioning import schema_template
from portal.schemas.replay import needs_python
from portal.schemas.state import (
    STATE_PREFIX,
    migration_state,
    organisation_schemas,
    record_state,
)
from tests.conftest import drop_schemas, owner_role
from tests.portal.schema_catalog import differences, schema_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _as_the_deploy() -> Iterator[None]:
    """The deploy's migrations run as the owner role (portal/db/roles.py)."""
    with owner_role():
        yield


def organisation(slug: str) -> Organisation:
    return create_organisation(
        name=slug.title(), slug=slug, primary_contact_email=f"owner@{slug}.test"
    ).organisation


def put_behind(
    organisation: Organisation, *, broken: bool = False, model_gone: bool = False
) -> None:
    """Take the sessions app's migration back in the organisation's schema, as if it were
    new, and record an older state. ``broken``: a table stands in the migration's way;
    ``model_gone``: its content type and permissions too, as for a model never seen."""
    schema = organisation.schema_name
    call_command(
        "migrate_schemas",
        "sessions",
        "zero",
        schema_name=schema,
        executor="standard",
        interactive=False,
        verbosity=0,
    )
    record_state(schema, STATE_PREFIX + "older")
    if model_gone:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {schema}.auth_permission WHERE content_type_id IN (SELECT id FROM "
                f"{schema}.django_content_type WHERE app_label = 'sessions')"
            )
            cursor.execute(f"DELETE FROM {schema}.django_content_type WHERE app_label = 'sessions'")
    if broken:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {schema}.django_session (in_the_way integer)")


def current() -> dict[str, bool]:
    return {s.schema_name: s.current for s in organisation_schemas(migration_state())}


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("migrate_organisations", *args, stdout=out, stderr=err)
    except CommandError as error:
        raise CommandError(f"{error}\n{out.getvalue()}\n{err.getvalue()}") from error
    return out.getvalue(), err.getvalue()


def in_process(*args: str) -> tuple[str, str]:
    """The tenants' part only, in this process: inside the test's transaction."""
    return run("--organisations-only", "--parallel=1", *args)


def test_organisations_at_the_latest_state_are_skipped_after_one_query() -> None:
    schema_template()
    organisation("skip-1")
    with CaptureQueriesContext(connection) as one:
        first, _ = in_process()
    for number in range(2, 5):
        organisation(f"skip-{number}")
    with CaptureQueriesContext(connection) as four:
        again, _ = in_process()

    assert ": 0 to migrate," in first and ": 0 to migrate," in again
    skipped = [int(out.split(": 0 to migrate, ")[1].split()[0]) for out in (first, again)]
    assert skipped[1] == skipped[0] + 3
    assert len(one.captured_queries) == len(four.captured_queries) == 1


def test_an_organisation_behind_is_migrated_and_the_others_skipped() -> None:
    behind = organisation("behind")
    organisation("alongside")
    put_behind(behind)
    assert current()["org_behind"] is False

    out, err = in_process()

    assert ": 1 to migrate," in out and "org_behind migrated in" in out
    assert "org_alongside" not in out and err == ""
    assert current()["org_behind"] and current()["org_alongside"]
    # Its sessions table is back: the catalog is the same as the other's, but for the id of
    # the migration recorded again (their rows differ: each has its own users).
    left, right = schema_snapshot("org_behind"), schema_snapshot("org_alongside")
    catalog = {part for part in differences(left, right) if not part.startswith("rows of ")}
    assert catalog <= {"migrations", "sequences"}
    assert {row[1:] for row in left["migrations"]} == {row[1:] for row in right["migrations"]}


def test_a_failing_organisation_is_reported_the_others_migrated_and_a_rerun_resumes() -> None:
    first, failing, last = organisation("first"), organisation("failing"), organisation("last")
    for one in (first, failing, last):
        put_behind(one, broken=one is failing)

    with pytest.raises(CommandError) as raised:
        in_process()

    report = str(raised.value)
    assert "1 organisation not at the latest state: org_failing" in report
    assert 'org_failing FAILED: ProgrammingError: relation "django_session" already exists' in (
        report
    )
    assert "org_first migrated in" in report and "org_last replayed in" in report
    assert current()["org_first"] and current()["org_last"]
    assert current()["org_failing"] is False  # rolled back: still at its older state

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE org_failing.django_session")
    out, err = in_process()

    assert ": 1 to migrate," in out and "org_failing migrated in" in out and err == ""
    assert "org_first" not in out and "org_last" not in out
    assert all(current()[name] for name in ("org_first", "org_failing", "org_last"))


def test_the_others_replay_what_the_first_migration_did_to_the_same_catalog() -> None:
    """The first schema behind is migrated by Django, its statements kept; the others at
    the same migrations replay them: the same tables, indexes and constraints as a schema
    migrated by Django, their own content type and permissions for a model new to them."""
    alongside = organisation("replay-alongside")
    behind = [organisation(f"replay-{n}") for n in range(1, 4)]
    for one in behind:
        put_behind(one, model_gone=True)

    out, err = in_process()

    assert ": 3 to migrate," in out and err == ""
    assert "org_replay_1 migrated in" in out
    assert "The others replay its statements" in out
    assert "org_replay_2 replayed in" in out and "org_replay_3 replayed in" in out
    assert all(current()[one.schema_name] for one in behind)
    reference = schema_snapshot(alongside.schema_name)
    for one in behind:
        snapshot = schema_snapshot(one.schema_name)
        catalog = {part for part in differences(snapshot, reference) if "rows of " not in part}
        assert catalog <= {"migrations", "sequences"}, one.schema_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.codename FROM {one.schema_name}.auth_permission AS p JOIN "
                f"{one.schema_name}.django_content_type AS t ON t.id = p.content_type_id "
                "WHERE t.app_label = 'sessions' ORDER BY p.codename"
            )
            assert [row[0] for row in cursor.fetchall()] == [
                "add_session",
                "change_session",
                "delete_session",
                "view_session",
            ]


def test_a_migration_that_runs_python_in_a_schema_is_not_replayed() -> None:
    assert needs_python([("accounts", "0002_app_role")]) == "accounts.0002_app_role"
    assert needs_python([("sessions", "0001_initial")]) == ""
    # A shared app's Python does nothing in an organisation's schema (django-tenants' router).
    assert needs_python([("subscriptions", "0002_catalogue_and_append_only_audit")]) == ""


def test_a_schema_with_other_migrations_is_migrated_by_django() -> None:
    first, other = organisation("mixed-first"), organisation("mixed-other")
    put_behind(first)
    put_behind(other)
    call_command(  # one more migration taken back here: not what the first had
        "migrate_schemas",
        "mfa",
        "zero",
        schema_name=other.schema_name,
        executor="standard",
        interactive=False,
        verbosity=0,
    )
    out, _ = in_process()
    assert "org_mixed_first migrated in" in out and "org_mixed_other migrated in" in out
    assert current()["org_mixed_other"]


def test_all_migrates_the_organisations_at_the_latest_state_too() -> None:
    organisation("recorded")
    out, _ = in_process("--all")
    # By Django if it comes first, else replaying the first one's (empty) statements.
    assert re.search(r"org_recorded (migrated|replayed) in", out) and current()["org_recorded"]


@pytest.mark.django_db(transaction=True)
def test_a_parallel_deploy_migrates_reports_and_skips(
    catalogue: None, owner_connections: None
) -> None:
    slugs = ("par-a", "par-b", "par-c", "par-d")
    organisations = {slug: organisation(slug) for slug in slugs}
    try:
        for slug in ("par-a", "par-b", "par-c"):
            put_behind(organisations[slug], broken=slug == "par-b")

        with pytest.raises(CommandError) as raised:
            run("--parallel=2")  # the public schema first, then 3 organisations, 2 at a time

        report = str(raised.value)
        assert "[standard:public]" not in report or "No migrations to apply" in report
        # At the latest state: par-d, and any organisation an earlier test left (northwind).
        assert re.search(r": 3 to migrate, [1-9]\d* at the latest state\.", report)
        assert "org_par_a migrated in" in report and "org_par_c replayed in" in report
        assert "org_par_b FAILED: ProgrammingError" in report
        assert {line.split("]")[0] for line in report.splitlines() if "/3] " in line} == {
            "[1/3",
            "[2/3",
            "[3/3",
        }
        states = current()
        assert states["org_par_a"] and states["org_par_c"] and states["org_par_d"]
        assert states["org_par_b"] is False
    finally:
        drop_schemas("org_par_a", "org_par_b", "org_par_c", "org_par_d")
