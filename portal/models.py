"""The tenant registry (public schema): organisations and the host names that reach them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

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
    """Neither a reserved word nor shaped as an internationalised domain name's label
    (``xn--…``: two hyphens third and fourth are reserved for them, RFC 5891)."""
    if value[2:4] == "--":
        raise ValidationError(
            _("Addresses may not have two hyphens as their third and fourth characters."),
            code="reserved_slug",
        )
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


class LiveOrganisations(models.Manager["Organisation"]):
    """The organisations that exist: not the rows a deletion keeps for the books
    (``Organisation.all_objects`` has those too; a foreign key reaches them)."""

    def get_queryset(self) -> models.QuerySet[Organisation]:
        return super().get_queryset().filter(deleted_on__isnull=True)


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
    # A test clock (portal/clock.py): the organisation's today, for demos and staging only.
    clock_date: models.DateField[date | None, date | None] = models.DateField(
        _("test clock"), null=True, blank=True, editable=False
    )

    # Closed (subscriptions/services/closures.py) from this day: its site says so and
    # nobody signs in; nothing is billed.
    closed_on: models.DateField[date | None, date | None] = models.DateField(
        _("closed on"), null=True, blank=True, editable=False
    )

    # Deleted (organisations/deletion.py) on this day: its schema dropped, its people
    # forgotten; the row stays for the books (invoices, ledger, audit log name it).
    deleted_on: models.DateField[date | None, date | None] = models.DateField(
        _("deleted on"), null=True, blank=True, editable=False
    )

    auto_create_schema = True
    auto_drop_schema = False  # an organisation's data is never dropped by a delete

    objects = LiveOrganisations()  # the default: what django-tenants' commands go through
    all_objects = models.Manager["Organisation"]()

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


# django-tenants' own fields, named in the staff member's language as ours are.
for _model, _field, _name in (
    (Organisation, "schema_name", _("schema")),
    (Domain, "domain", _("host name")),
    (Domain, "tenant", _("organisation")),
    (Domain, "is_primary", _("primary host name")),
):
    _model._meta.get_field(_field).verbose_name = _name


# The states in which a sign-up holds its address: verified, until its site exists.
HOLDING_STATES = ("verified", "provisioning", "failed")


class SignUp(models.Model):
    """Someone starting an organisation alone on the public site (``organisations.signups``):
    kept from the form until the organisation exists. The address is held from the moment
    the email address is verified until the site exists (one holder per address, a
    database constraint); an unverified sign-up holds nothing and lapses at ``expires_at``.
    The password is kept only as its hash, and only until the primary contact has it. The
    one-time sign-in to the new site is issued once, shortly after ``done_at``, for the
    user the sign-up created (``primary_contact_id``, in the organisation's schema)."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for email verification")
        VERIFIED = "verified", _("queued")
        PROVISIONING = "provisioning", _("creating the site")
        FAILED = "failed", _("failed")
        DONE = "done", _("done")

    reference: models.UUIDField[uuid.UUID, uuid.UUID] = models.UUIDField(
        _("reference"), default=uuid.uuid4, unique=True, editable=False
    )
    organisation_name: models.CharField[str, str] = models.CharField(
        _("organisation name"), max_length=100
    )
    slug: models.CharField[str, str] = models.CharField(_("address"), max_length=40)
    full_name: models.CharField[str, str] = models.CharField(_("name"), max_length=150, blank=True)
    email: models.EmailField[str, str] = models.EmailField(_("email address"))
    password: models.CharField[str, str] = models.CharField(
        _("password"), max_length=128, blank=True
    )
    language: models.CharField[str, str] = models.CharField(_("language"), max_length=10)
    ip_address: models.GenericIPAddressField[str | None, str | None] = models.GenericIPAddressField(
        _("IP address"), null=True, blank=True
    )
    state: models.CharField[str, str] = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    verification_key: models.CharField[str, str] = models.CharField(
        _("verification key"), max_length=64, unique=True, editable=False
    )
    welcome_key: models.CharField[str, str] = models.CharField(
        _("sign-in link key"), max_length=64, blank=True, editable=False
    )
    welcome_expires_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(_("sign-in link expires"), null=True, blank=True, editable=False)
    )
    welcome_issued_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(_("sign-in link issued"), null=True, blank=True, editable=False)
    )
    primary_contact_id: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        _("primary contact's id"), null=True, blank=True, editable=False
    )
    # What the person agreed to when signing up (the vendor's terms and privacy policy, by
    # their addresses then), and when; empty where the deployment names none.
    terms_accepted: models.CharField[str, str] = models.CharField(
        _("terms accepted"), max_length=500, blank=True, editable=False
    )
    terms_accepted_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(_("terms accepted at"), null=True, blank=True, editable=False)
    )
    failure: models.TextField[str, str] = models.TextField(_("failure"), blank=True)
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(
        _("attempts"), default=0
    )
    organisation: models.ForeignKey[Organisation | None, Organisation | None] = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("created"), auto_now_add=True
    )
    verified_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("verified"), null=True, blank=True
    )
    expires_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("expires"), null=True, blank=True
    )
    done_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("site created"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(state__in=HOLDING_STATES),
                name="portal_signup_one_holder_per_address",
            )
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="portal_signup_expiry")]

    def __str__(self) -> str:
        return f"{self.organisation_name} ({self.slug})"
