"""Creating organisations: the tenant, its schema, domain, first department and
primary contact, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.formats import date_format
from django_tenants.utils import quote_schema_name, tenant_context

from accounts.models import Department, User
from accounts.selectors import set_password_path
from accounts.services import add_user, create_department, normalise_email
from audit.models import AuditEvent
from organisations.exceptions import (
    OrganisationAddressHeld,
    OrganisationAddressQuarantined,
    OrganisationAddressRetired,
    OrganisationAddressTaken,
)
from organisations.models import Deletion
from portal import clock, hosts, names
from portal.db.roles import connect_as_owner
from portal.exceptions import InvalidOrganisation, InvalidOrganisationName
from portal.models import HOLDING_STATES, Domain, Organisation, SignUp, schema_name_for
from portal.selectors import organisation_host, organisation_url
from subscriptions.selectors.catalogue import get_plan
from subscriptions.selectors.trials import trial_terms
from subscriptions.services.guards import require_staff
from subscriptions.services.subscription import start_subscription


@dataclass(frozen=True)
class NewOrganisation:
    organisation: Organisation
    primary_contact: User
    first_department: Department
    set_password_url: str


def address_refusal(slug: str, *, for_sign_up: SignUp | None = None) -> InvalidOrganisation | None:
    """Why an organisation cannot have this address (malformed, reserved, an organisation's,
    held by a verified sign-up other than ``for_sign_up``, its schema still there: someone's
    kept data is never handed over; a deleted organisation's, until its quarantine ends:
    ``organisations.deletion``), or None when it is free. An unverified sign-up holds
    nothing. One query: the sign-up page asks it as the address is typed."""
    field = Organisation._meta.get_field("slug")
    try:
        field.run_validators(slug)
    except ValidationError as error:
        return InvalidOrganisation(" ".join(error.messages))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT EXISTS (SELECT 1 FROM {Organisation._meta.db_table} WHERE slug = %s),
                       EXISTS (SELECT 1 FROM {SignUp._meta.db_table}
                               WHERE slug = %s AND state = ANY(%s) AND id <> %s),
                       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),
                       (SELECT max(address_free_on) FROM {Deletion._meta.db_table}
                        WHERE former_slug = %s)""",
            [
                slug,
                slug,
                list(HOLDING_STATES),
                for_sign_up.pk if for_sign_up else 0,
                schema_name_for(slug),
                slug,
            ],
        )
        taken, held, retired, free_on = cursor.fetchone()
    if taken:
        return OrganisationAddressTaken(slug=slug)
    if held:  # a verified sign-up's site being made: not an organisation (yet)
        return OrganisationAddressHeld(slug=slug)
    if retired:
        return OrganisationAddressRetired(slug=slug)
    if free_on is not None and clock.today() < free_on:
        return OrganisationAddressQuarantined(slug=slug, date=date_format(free_on, "DATE_FORMAT"))
    return None


def create_organisation(
    *,
    name: str,
    slug: str,
    primary_contact_email: str,
    primary_contact_name: str = "",
    primary_contact_password: str | None = None,
    plan_code: str = "free",
    seats: int | None = None,
    cycle: str = "monthly",
    currency: str = "JPY",
    period_start: date | None = None,
    for_sign_up: SignUp | None = None,
    acting_user: User | None = None,
    trial: bool = False,
) -> NewOrganisation:
    """Create an organisation with its schema (migrated), its domain
    ``<slug>.PORTAL_BASE_DOMAIN``, a first department named after it, and its primary
    contact (also a super admin), on ``plan_code`` from today (or from ``period_start``:
    an existing customer whose period began, or begins, then), at an address that is free
    (``address_refusal``; ``for_sign_up``: the verified sign-up holding it, which this
    creation fulfils). ``trial``: on the trial the settings give instead
    (``subscriptions.services.trials``; on ``plan_code`` when trials are off). Everything
    is validated
    first and created in one
    transaction: on any error nothing exists afterwards. Only operators (``acting_user``
    None) and vendor staff with ``portal.add_organisation`` create organisations."""
    require_staff(acting_user, "portal.add_organisation")
    clean_name = names.tidy(name)
    if not names.is_acceptable(clean_name, max_length=100):
        raise InvalidOrganisationName()
    clean_slug = (slug or "").strip()
    refusal = address_refusal(clean_slug, for_sign_up=for_sign_up)
    if refusal is not None:
        raise refusal
    email = normalise_email(primary_contact_email)
    terms = trial_terms() if trial else None
    if terms is not None:
        plan_code, seats = terms.plan_code, terms.seats
    get_plan(plan_code)  # refuse an unknown plan before anything is created
    with transaction.atomic():
        organisation = Organisation(
            name=clean_name, slug=clean_slug, schema_name=schema_name_for(clean_slug)
        )
        try:
            with transaction.atomic():
                organisation.save(verbosity=0)  # creates and migrates the schema
        except IntegrityError:  # created concurrently under the same address
            raise OrganisationAddressTaken(slug=clean_slug) from None
        try:
            with transaction.atomic():
                Domain.objects.create(
                    domain=organisation_host(clean_slug), tenant=organisation, is_primary=True
                )
        except IntegrityError:  # the host name is still held by another organisation
            raise OrganisationAddressTaken(slug=clean_slug) from None
        start_subscription(
            organisation,
            plan_code=plan_code,
            seats=seats,
            cycle=cycle,
            currency=currency,
            period_start=period_start,
            acting_user=acting_user,
            trial_days=terms.days if terms is not None else 0,
        )
        with tenant_context(organisation):
            department = create_department(name=clean_name, acting_user=None)
            contact = add_user(
                email=email,
                full_name=primary_contact_name,
                is_primary_contact=True,
                is_super_admin=True,
                password=primary_contact_password,
                acting_user=None,
            )
            link = organisation_url(organisation, set_password_path(contact))
    return NewOrganisation(organisation, contact, department, link)


def forget_every_organisation() -> int:
    """Development only (``seed_demo --reset``): drop every organisation's schema and
    empty the tables that hold organisations and what happened to them (their domains,
    sign-ups, subscriptions, plan changes, refunds, ledger, invoices, audit events), as the
    owner role, which alone may empty the append-only tables, and only with DEBUG on. The
    catalogue and vendor staff stay. Returns how many organisations were forgotten."""
    if not settings.DEBUG:
        raise ImproperlyConfigured("Forgetting every organisation is for development (DEBUG).")
    connect_as_owner()
    schemas = list(Organisation.objects.values_list("schema_name", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL portal.allow_truncate = on")
        for schema in schemas:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(schema)} CASCADE")
        tables = [Organisation._meta.db_table, AuditEvent._meta.db_table]
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    hosts.forget_all()
    return len(schemas)
