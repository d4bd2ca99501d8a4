"""A persistent connection's memory as it serves every organisation in turn (issue 26, point 1),
for ``bench/tenants.py``: one session sweeps every organisation's schema, touching the tables
a page touches, and the session's own memory (``pg_backend_memory_contexts``; the backend's
RSS where that view is not readable) is read as it goes; then the same sweep with the
connection recycled between "requests" as ``PORTAL_CONNECTION_MAX_SCHEMAS`` has it
(``portal/db/postgresql_backend``), and what a first visit to a schema costs against a
revisit. Prints figures; asserts nothing."""

from __future__ import annotations

import statistics
import time
from typing import Any

# What a dashboard touches of an organisation's schema.
TOUCH = [
    "SELECT count(*) FROM accounts_user",
    "SELECT count(*) FROM accounts_department",
    "SELECT count(*) FROM django_session",
    "SELECT count(*) FROM account_emailaddress",
]
MiB = 1024 * 1024


def _memory(wrapper: Any) -> int:
    """The session's memory in bytes: its memory contexts where this role may read them
    (a superuser, ``pg_read_all_stats``), else its process's resident memory."""
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT pg_catalog.has_function_privilege("
            "'pg_catalog.pg_get_backend_memory_contexts()', 'EXECUTE'), pg_backend_pid()"
        )
        readable, pid = cursor.fetchone()
        if readable:
            cursor.execute("SELECT sum(total_bytes) FROM pg_catalog.pg_backend_memory_contexts")
            return int(cursor.fetchone()[0])
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def _visit(wrapper: Any, schema: str) -> float:
    started = time.perf_counter()
    wrapper.set_schema(schema)
    with wrapper.cursor() as cursor:
        for statement in TOUCH:
            cursor.execute(statement)
    return time.perf_counter() - started


def measure(schemas: list[str]) -> list[tuple[str, ...]]:
    """Rows for the bench's table."""
    from django.conf import settings
    from django.db import connections

    limit = settings.PORTAL_CONNECTION_MAX_SCHEMAS
    checkpoints = sorted({min(len(schemas), n) for n in (1, 100, 1000, len(schemas))})
    wrapper: Any = connections.create_connection("default")  # portal.db's wrapper
    rows: list[tuple[str, ...]] = []
    try:
        wrapper.ensure_connection()
        base = _memory(wrapper)
        seen: dict[int, int] = {}
        first: list[float] = []
        for number, schema in enumerate(schemas, start=1):
            first.append(_visit(wrapper, schema))
            if number in checkpoints:
                seen[number] = _memory(wrapper)
        again = [_visit(wrapper, schema) for schema in schemas[-200:]]
        wrapper.close()

        # Recycled as between requests: the largest the session gets.
        peak = 0
        for schema in schemas:
            _visit(wrapper, schema)
            if len(wrapper._schemas_visited) >= limit:
                peak = max(peak, _memory(wrapper))
            wrapper.close_if_unusable_or_obsolete()
        peak = max(peak, _memory(wrapper))
    finally:
        wrapper.close()

    growth = ", ".join(f"{n}: {seen[n] / MiB:.1f} MiB" for n in checkpoints)
    per_schema = (seen[checkpoints[-1]] - base) / max(checkpoints[-1], 1) / 1024
    rows.append(
        (
            "one session, every organisation in turn",
            f"fresh {base / MiB:.1f} MiB; after {growth} (~{per_schema:.0f} KB per schema)",
            "",
            "",
            "",
        )
    )
    rows.append(
        (
            f"  recycled after {limit} schemas",
            f"peak {peak / MiB:.1f} MiB",
            "",
            "",
            "≤ 64 MiB",
        )
    )
    rows.append(
        (
            "  first visit to a schema / a revisit",
            f"median {statistics.median(first) * 1000:.2f} ms / "
            f"{statistics.median(again) * 1000:.2f} ms ({len(TOUCH)} queries)",
            "",
            "",
            "",
        )
    )
    return rows
