"""Helpers for subscription tests: organisations on a given plan, made inside the test."""

from __future__ import annotations

import itertools

from django_tenants.utils import schema_context

from accounts.models import User
from organisations.services import create_organisation
from portal.models import Organisation

_numbers = itertools.count(1)


def make_organisation(
    plan: str = "enterprise",
    *,
    seats: int | None = None,
    cycle: str = "monthly",
    currency: str = "JPY",
    slug: str | None = None,
) -> tuple[Organisation, User]:
    """A new organisation (only its primary contact) and that contact."""
    slug = slug or f"sub-test-{next(_numbers)}"
    created = create_organisation(
        name=slug.title(),
        slug=slug,
        primary_contact_email=f"owner@{slug}.test",
        primary_contact_password="a-long-test-password-42",
        plan_code=plan,
        seats=seats,
        cycle=cycle,
        currency=currency,
    )
    return created.organisation, created.primary_contact


def users_of(organisation: Organisation) -> dict[str, User]:
    with schema_context(organisation.schema_name):
        return {user.email: user for user in User.objects.all()}
