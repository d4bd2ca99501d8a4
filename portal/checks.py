"""System checks of the portal's settings, run by ``manage.py check --deploy``; each is a
function here, registered by its decorator; ``PortalConfig.ready`` imports this module. Ids:
``portal.E0xx`` for errors, ``portal.W0xx`` for warnings, never reused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError
from django.db import connection

from portal.production import unmet_needs

TAG = "portal"


@register(TAG, deploy=True)
def check_production_needs(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With DEBUG off: a shared cache (E001), a mail server that sends (E002) and a gateway
    that takes money (E003) and the real date (E006: no test clocks), the needs the production
    server refuses to start without."""
    return [
        CheckError(
            f"Set {need}.",
            hint='The production server refuses to start without it (README.md, "Production").',
            id=need.check_id,
        )
        for need in unmet_needs()
    ]


@register(TAG, deploy=True)
def check_app_role(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With DEBUG off, the app must not connect as a role that owns tables or is a
    superuser (E004): such a role could rewrite the audit log (portal/db/roles.py); nor as
    one that may create temporary objects (E005), which a function running as the owner
    could be led to use (``portal/migrations/0005``)."""
    if settings.DEBUG:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, pg_catalog.pg_get_userbyid(c.relowner) = current_user, "
            "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY') "
            "FROM pg_catalog.pg_roles AS r, pg_catalog.pg_class AS c "
            "WHERE r.rolname = current_user AND c.oid = 'subscriptions_auditevent'::regclass"
        )
        superuser, owner, temporary = cursor.fetchone()
    refusals: list[CheckMessage] = []
    if superuser or owner:
        refusals.append(
            CheckError(
                "The app connects to the database as a role that "
                + ("is a superuser." if superuser else "owns the tables."),
                hint="Set DATABASE_URL to a role that owns nothing and DATABASE_OWNER_URL to "
                'the owner, which only migrate_organisations uses (README.md, "Production").',
                id="portal.E004",
            )
        )
    if temporary and not superuser:
        refusals.append(
            CheckError(
                "The app's database role may create temporary tables.",
                hint="As the database's owner: REVOKE TEMPORARY ON DATABASE <name> FROM "
                'PUBLIC (README.md, "Production"; migrate_organisations does it when it '
                "runs as that owner).",
                id="portal.E005",
            )
        )
    return refusals
