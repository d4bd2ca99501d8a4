"""A schema as the catalog describes it, with its own name taken out, so that two
schemas can be compared: relations, columns, indexes, constraints, triggers, sequences,
functions, who owns what and who may do what with it, the migrations recorded and every
table's rows."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

Snapshot = dict[str, list[tuple[Any, ...]]]

_CATALOG = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, obj_description(c.oid, 'pg_class'),
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
        FROM pg_class c WHERE c.relnamespace = %(schema)s::regnamespace
        ORDER BY 1
    """,
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
               a.attgenerated, a.attisdropped, co.collname, col_description(c.oid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE c.relnamespace = %(schema)s::regnamespace AND a.attnum > 0
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY 1, 2
    """,
    "indexes": """
        SELECT i.relname, t.relname, pg_get_indexdef(i.oid), x.indisunique, x.indisprimary
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = %(schema)s::regnamespace
        ORDER BY 1
    """,
    "constraints": """
        SELECT con.conname, t.relname, con.contype, pg_get_constraintdef(con.oid),
               con.condeferrable, con.condeferred, con.convalidated
        FROM pg_constraint con
        LEFT JOIN pg_class t ON t.oid = con.conrelid
        WHERE con.connamespace = %(schema)s::regnamespace
        ORDER BY 1, 2
    """,
    "triggers": """
        SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(schema)s::regnamespace AND NOT t.tgisinternal
        ORDER BY 1, 2
    """,
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax,
               s.seqmin, s.seqcache, s.seqcycle, pg_sequence_last_value(c.oid),
               owner.relname, owner_column.attname
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class owner ON owner.oid = d.refobjid
        LEFT JOIN pg_attribute owner_column
             ON owner_column.attrelid = d.refobjid AND owner_column.attnum = d.refobjsubid
        WHERE c.relnamespace = %(schema)s::regnamespace
        ORDER BY 1
    """,
    # The schema's and each relation's owner and rights (the app role's among them).
    "privileges": """
        SELECT c.relname, c.relkind::text, pg_get_userbyid(c.relowner), c.relacl::text
        FROM pg_class c WHERE c.relnamespace = %(schema)s::regnamespace
        UNION ALL
        SELECT NULL, 'schema', pg_get_userbyid(n.nspowner), n.nspacl::text
        FROM pg_namespace n WHERE n.oid = %(schema)s::regnamespace
        ORDER BY 1 NULLS FIRST
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p
        WHERE p.pronamespace = %(schema)s::regnamespace AND p.prokind IN ('f', 'p')
        ORDER BY 1, 2
    """,
}


def schema_snapshot(schema_name: str) -> Snapshot:
    """Everything that makes ``schema_name`` what it is (not its comment: the recorded
    migration state), its name replaced by ``<schema>``."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema_name):
        raise ValueError(f"Not a plain schema name: {schema_name!r}")
    own_name = re.compile(rf"(?<![\w\"]){re.escape(schema_name)}\.")

    def anonymous(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [
            tuple(own_name.sub("<schema>.", v) if isinstance(v, str) else v for v in row)
            for row in rows
        ]

    snapshot: Snapshot = {}
    with connection.cursor() as cursor:
        for part, sql in _CATALOG.items():
            cursor.execute(sql, {"schema": schema_name})
            snapshot[part] = anonymous(cursor.fetchall())
        cursor.execute(
            f'SELECT "id", "app", "name" FROM {schema_name}."django_migrations" ORDER BY "id"'
        )
        snapshot["migrations"] = cursor.fetchall()
        tables = [
            name
            for name, kind, *_ in snapshot["relations"]
            if kind in {"r", "p"} and name != "django_migrations"
        ]
        for table in tables:
            cursor.execute(f'SELECT to_jsonb(t)::text FROM {schema_name}."{table}" t ORDER BY 1')
            snapshot[f"rows of {table}"] = cursor.fetchall()
    return snapshot


def differences(left: Snapshot, right: Snapshot) -> dict[str, tuple[list[Any], list[Any]]]:
    """The parts that differ: (only in left, only in right) for each."""
    return {
        part: (
            [row for row in left.get(part, []) if row not in right.get(part, [])],
            [row for row in right.get(part, []) if row not in left.get(part, [])],
        )
        for part in sorted(set(left) | set(right))
        if left.get(part) != right.get(part)
    }
