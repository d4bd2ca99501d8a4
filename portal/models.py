"""The tenant registry (public schema): organisations and the host names that reach them."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from portal.schemas.provisioning import provision_schema

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "cdn",
        "dashboard",
        "docs",
        "help",
        "login",
        "mail",
        "media",
        "portal",
        "public",
        "smtp",
        "static",
        "status",
        "store",
        "support",
        "www",
    }
)

slug_format_validator = RegexValidator(
    SLUG_PATTERN,
    _(
        "Use 1 to 40 lowercase letters (a-z), digits and hyphens, starting and ending "
        "with a letter or digit."
    ),
    code="invalid_slug",
)


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved. Please choose another address."),
            code="reserved_slug",
            params={"slug": value},
        )


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of the organisation with this slug. The prefix keeps
    clear of PostgreSQL's own ``pg_`` names; slugs have no underscores, so the mapping
    is one-to-one."""
    return "org_" + slug.replace("-", "_")


class Organisation(TenantMixin):
    """A helpdesk customer: one PostgreSQL schema and one subdomain."""

    name: models.CharField[str, str] = models.CharField(_("name"), max_length=100)
    slug: models.CharField[str, str] = models.CharField(
        _("address"),
        max_length=40,
        unique=True,
        validators=[slug_format_validator, validate_slug_not_reserved],
        help_text=_("The subdomain of the organisation's site, e.g. “acme” for acme.example.com."),
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("created"), auto_now_add=True
    )
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("updated"), auto_now=True
    )

    auto_create_schema = True
    auto_drop_schema = False  # an organisation's data is never dropped by a delete

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """django-tenants' hook, called by ``save()`` for a new organisation: the schema
        is built from the schema template (``portal.schemas.provisioning``) at the latest
        migration state, instead of by running every migration. Returns False when
        ``check_if_exists`` and the schema exists."""
        if not sync_schema:  # django-tenants' "create nothing" case, as it does it
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        return provision_schema(self.schema_name, check_if_exists=check_if_exists)


class Domain(DomainMixin):
    """A host name that reaches an organisation's site."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.domain
