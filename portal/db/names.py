"""Schema names the connection treats specially (no imports: the database backend reads it)."""

# A deleted organisation's row keeps the schema name ``deleted_<id>`` (organisations.deletion):
# no schema has it, and no connection may choose it (``postgresql_backend.set_tenant``
# refuses), so nothing reads a deleted organisation's tables from the public schema's tables
# of the same names (a search path skips a schema that does not exist).
DELETED_SCHEMA_PREFIX = "deleted_"


def deleted_schema_name(organisation_id: int) -> str:
    return f"{DELETED_SCHEMA_PREFIX}{organisation_id}"
