"""Organisations' schemas built from the schema template: the same as migrated ones,
rebuilt when the migrations change, safe when organisations are created at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, schema_exists

from organisations.services import create_organisation
from portal.models import Organisation
from portal.schemas import provisioning
from portal.schemas.provisioning import (
    SchemaTemplateMissing,
    fold_into_create_table,
    provision_schema,
    rendered,
    schema_template,
    template_key,
)
from portal.schemas.state import (
    MigrationFile,
    migration_state,
    organisation_schemas,
    project_migrations,
)
from tests.conftest import drop_schemas
from tests.portal.schema_catalog import differences, schema_snapshot

pytestmark = pytest.mark.django_db


def migrated_schema(schema_name: str) -> None:
    """A schema made as django-tenants makes one: created, then every migration run."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema_name}")
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=schema_name,
        executor="standard",
        interactive=False,
        verbosity=0,
    )


def template_rows(key: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_schema_template WHERE key = %s", [key])
        return int(cursor.fetchone()[0])


@pytest.mark.usefixtures("as_owner")  # migrating a schema is the owner's
def test_a_provisioned_schema_is_identical_to_a_migrated_one() -> None:
    migrated_schema("org_by_migrations")
    assert provision_schema("org_by_template")

    migrated, provisioned = schema_snapshot("org_by_migrations"), schema_snapshot("org_by_template")
    assert differences(migrated, provisioned) == {}
    # Not two empty schemas: every part of the comparison holds something.
    recorded = {(app, name) for _id, app, name in migrated["migrations"]}
    assert recorded == {(m.app_label, m.name) for m in project_migrations()}
    for part in ("relations", "columns", "indexes", "constraints", "sequences"):
        assert migrated[part], part
    # The app role's rights, though the template leaves out accounts.0002's grants.
    app_role = settings.PORTAL_DATABASE_APP_ROLE
    rights = {(name, kind): acl for name, kind, _owner, acl in provisioned["privileges"]}
    assert f"{app_role}=U/" in rights[None, "schema"]
    assert f"{app_role}=arwd/" in rights["accounts_user", "r"]
    assert f"{app_role}=rwU/" in rights["accounts_user_id_seq", "S"]
    assert migrated["rows of auth_permission"] and migrated["rows of django_content_type"]


def _add_trigger(schema: str) -> str:
    return (
        f"CREATE FUNCTION {schema}.touch() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$; "
        f"CREATE TRIGGER touch BEFORE UPDATE ON {schema}.accounts_department "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.touch()"
    )


DAMAGES = [
    # An index is a relation too (with no rights of its own).
    (
        "DROP INDEX {s}.auth_permission_content_type_id_2f476e4b",
        {"indexes", "relations", "privileges"},
    ),
    (
        "ALTER TABLE {s}.auth_permission "
        "DROP CONSTRAINT auth_permission_content_type_id_codename_01ab375a_uniq",
        {"constraints", "indexes", "relations", "privileges"},
    ),
    ("ALTER TABLE {s}.accounts_department ALTER COLUMN name DROP NOT NULL", {"columns"}),
    ("ALTER TABLE {s}.accounts_department ALTER COLUMN name SET DEFAULT ''", {"columns"}),
    ("ALTER TABLE {s}.accounts_department ALTER COLUMN name TYPE varchar(101)", {"columns"}),
    ("COMMENT ON TABLE {s}.accounts_department IS 'changed'", {"relations"}),
    ("GRANT SELECT ON {s}.accounts_department TO PUBLIC", {"privileges"}),
    (None, {"triggers", "functions"}),
    ("SELECT setval('{s}.accounts_department_id_seq', 42)", {"sequences"}),
    (
        "DELETE FROM {s}.django_migrations WHERE app = 'sessions' AND name = '0001_initial'",
        {"migrations"},
    ),
    (
        "DELETE FROM {s}.auth_permission WHERE codename = 'view_session'",
        {"rows of auth_permission"},
    ),
]


@pytest.mark.usefixtures("as_owner")
@pytest.mark.parametrize(("damage", "parts"), DAMAGES)
def test_the_comparison_finds_what_differs(damage: str | None, parts: set[str]) -> None:
    provision_schema("org_sound")
    provision_schema("org_damaged")
    assert differences(schema_snapshot("org_sound"), schema_snapshot("org_damaged")) == {}

    with connection.cursor() as cursor:
        # The permissions' deferred foreign key checks would keep ALTER TABLE off them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            _add_trigger("org_damaged") if damage is None else damage.format(s="org_damaged")
        )

    assert set(differences(schema_snapshot("org_sound"), schema_snapshot("org_damaged"))) == parts


def test_a_new_organisation_is_provisioned_at_the_latest_state_without_migrating() -> None:
    schema_template()
    with CaptureQueriesContext(connection) as queries:
        created = create_organisation(
            name="Fresh", slug="fresh", primary_contact_email="owner@fresh.test"
        )

    # Migrating would have looked the schema's tables up in pg_class, again and again.
    assert not [query["sql"] for query in queries if "pg_class" in query["sql"]]
    states = {s.schema_name: s for s in organisation_schemas(migration_state())}
    assert states["org_fresh"].exists and states["org_fresh"].current
    with schema_context(created.organisation.schema_name):
        recorded = MigrationRecorder(connection).applied_migrations()
        assert set(recorded) == {(m.app_label, m.name) for m in project_migrations()}


def test_the_template_key_follows_every_migration_and_the_server(tmp_path: Path) -> None:
    migrations = project_migrations()
    key = template_key(migrations, 150000)
    assert template_key(migrations, 150000) == key
    assert template_key(migrations, 160000) != key

    first = migrations[0]
    edited_source = tmp_path / "edited.py"
    edited_source.write_bytes(first.path.read_bytes() + b"\n# edited\n")
    edited = (MigrationFile(first.app_label, first.name, edited_source), *migrations[1:])
    assert template_key(edited, 150000) != key
    assert migration_state(edited) == migration_state(migrations)  # the same names

    added = (*migrations, MigrationFile("accounts", "9999_added", edited_source))
    assert template_key(added, 150000) != key
    assert migration_state(added) != migration_state(migrations)


@pytest.mark.usefixtures("as_owner")  # capturing migrates a scratch schema
def test_a_new_key_captures_a_new_template(monkeypatch: pytest.MonkeyPatch) -> None:
    new_key = "test-" + "0" * 59
    monkeypatch.setattr(provisioning, "current_template_key", lambda: new_key)
    assert template_rows(new_key) == 0

    provision_schema("org_after_change")

    assert template_rows(new_key) == 1
    provisioning._templates.pop(new_key)
    monkeypatch.undo()
    provision_schema("org_before_change")
    after, before = schema_snapshot("org_after_change"), schema_snapshot("org_before_change")
    assert differences(after, before) == {}


def test_the_app_role_cannot_capture_a_template_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provisioning, "current_template_key", lambda: "test-" + "1" * 59)
    with pytest.raises(SchemaTemplateMissing, match="migrate_organisations"):
        provision_schema("org_no_template")
    assert not schema_exists("org_no_template")


@pytest.mark.django_db(transaction=True)
def test_organisations_created_at_once_while_the_template_is_captured(
    catalogue: None, owner_connections: None
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_schema_template")
    provisioning._templates.clear()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def create(slug: str) -> None:
        try:
            barrier.wait(timeout=10)
            create_organisation(name=slug, slug=slug, primary_contact_email=f"a@{slug}.test")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(slug,)) for slug in ("race-a", "race-b")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert errors == []
        assert template_rows(provisioning.current_template_key()) == 1
        states = {s.schema_name: s.current for s in organisation_schemas(migration_state())}
        assert states["org_race_a"] and states["org_race_b"]
        assert set(Organisation.objects.values_list("slug", flat=True)) >= {"race-a", "race-b"}
    finally:
        drop_schemas("org_race_a", "org_race_b")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_connection_that_built_a_schema_is_not_used_again(catalogue: None) -> None:
    before = _backend_pid()
    try:
        create_organisation(name="Built", slug="built", primary_contact_email="a@built.test")
        after = _backend_pid()
        assert after != before  # a new PostgreSQL session
        assert Organisation.objects.filter(slug="built").exists()  # and the work committed
    finally:
        drop_schemas("org_built")


def test_inside_a_transaction_the_connection_stays(
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = _backend_pid()
    with django_capture_on_commit_callbacks(execute=True):
        provision_schema("org_stays")
    assert _backend_pid() == before


# Folding: the catalog test above proves the folded template right for this project's
# migrations; these pin the rules on the shapes Django writes.
CREATE = 'CREATE TABLE "t" ("id" bigint NOT NULL PRIMARY KEY, "name" varchar(50) NOT NULL)'


def test_a_new_length_and_a_new_column_go_into_the_create_table() -> None:
    assert fold_into_create_table(
        [
            CREATE,
            'CREATE INDEX "t_name_like" ON "t" ("name" varchar_pattern_ops)',
            'ALTER TABLE "t" ALTER COLUMN "name" TYPE varchar(255)',
            'ALTER TABLE "t" ADD COLUMN "at" timestamp with time zone DEFAULT \'2026-01-01'
            " 00:00:00+00:00'::timestamptz NOT NULL",
            'ALTER TABLE "t" ALTER COLUMN "at" DROP DEFAULT',
            'ALTER TABLE "t" ADD COLUMN "note" text NULL',
        ]
    ) == [
        'CREATE TABLE "t" ("id" bigint NOT NULL PRIMARY KEY, "name" varchar(255) NOT NULL, '
        "\"at\" timestamp with time zone DEFAULT '2026-01-01 00:00:00+00:00'::timestamptz "
        'NOT NULL, "note" text NULL)',
        'CREATE INDEX "t_name_like" ON "t" ("name" varchar_pattern_ops)',
        'ALTER TABLE "t" ALTER COLUMN "at" DROP DEFAULT',
    ]


def test_an_update_of_the_table_before_any_row_leaves_it_open_to_folding() -> None:
    """A data migration's UPDATE (lower-casing e-mail addresses, say) runs on a table that
    has no rows yet: it changes nothing, and the next column still goes into the CREATE."""
    update = 'UPDATE "t" SET "name" = LOWER("t"."name") WHERE NOT ("t"."name" = LOWER("t"."name"))'
    assert fold_into_create_table(
        [CREATE, update, 'ALTER TABLE "t" ADD COLUMN "epoch" integer DEFAULT 0 NOT NULL']
    ) == [CREATE[:-1] + ', "epoch" integer DEFAULT 0 NOT NULL)', update]


def test_this_projects_template_adds_no_column_to_a_table_it_created() -> None:
    """Each such ADD COLUMN costs more the more organisations the server holds (41 ms at
    5,000 against 0.9 ms): every one in this project's migrations is folded away."""
    script = schema_template().script
    assert 'CREATE TABLE "accounts_user" (' in script
    assert [sql for sql in script.split("\n;\n") if " ADD COLUMN " in sql] == []


def test_this_projects_template_grants_nothing_schema_wide() -> None:
    """GRANT ... ON ALL TABLES IN SCHEMA reads the whole of pg_class (135 ms at 2,000
    organisations); a new schema's objects get the app role's rights as they are created
    (the owner's default privileges), so the template leaves accounts.0002's grants out."""
    script = schema_template().script
    assert "IN SCHEMA" not in script
    assert 'CREATE TABLE "accounts_user" (' in script


def test_a_statement_left_out_of_the_template_is_still_replayed_by_a_deploy() -> None:
    """The mark says a new schema does not need it; schemas made before do (the deploy's
    replay in them renders the same statements)."""
    marked = "-- not in the schema template: a new schema has it\nGRANT USAGE ON SCHEMA x TO y"
    assert rendered([(marked, None, False)]) == [marked]


@pytest.mark.parametrize(
    "between",
    [
        'INSERT INTO "t" ("id", "name") VALUES (1, \'a\')',  # rows: a column gets their values
        'ALTER TABLE "t" DROP COLUMN "name" CASCADE',  # column numbers
        'ALTER TABLE "t" RENAME TO "u"',
        'ALTER TABLE "t" ADD COLUMN "ref_id" bigint NULL CONSTRAINT "f" REFERENCES "r" ("id")',
    ],
)
def test_what_touches_the_columns_or_the_rows_stops_the_folding(between: str) -> None:
    later = [
        'ALTER TABLE "t" ALTER COLUMN "name" TYPE varchar(255)',
        'ALTER TABLE "t" ADD COLUMN "note" text NULL',
    ]
    assert fold_into_create_table([CREATE, between, *later]) == [CREATE, between, *later]


def test_a_table_the_script_did_not_create_is_left_alone() -> None:
    script = ['ALTER TABLE "other" ALTER COLUMN "name" TYPE varchar(255)']
    assert fold_into_create_table([CREATE, *script]) == [CREATE, *script]
