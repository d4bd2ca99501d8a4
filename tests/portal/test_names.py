"""portal/names.py: names are tidied alike everywhere, and refused when nothing of them
would show; the forms, services and admin that take a name use it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import schema_context

from accounts.exceptions import InvalidDepartmentName, InvalidFullName
from accounts.models import Department, User
from accounts.services import add_user, create_department
from organisations.services import create_organisation
from portal.exceptions import InvalidOrganisationName
from portal.models import Organisation
from portal.names import NameField, is_acceptable, tidy
from subscriptions.models import Plan
from tests.conftest import Site, signed_in
from tests.factories import StaffFactory

ZWSP, RLM, BOM, ZWJ = "\u200b", "\u200f", "\ufeff", "\u200d"
# Nothing of these shows: refused wherever a name is asked for.
INVISIBLE = [ZWSP, f" {ZWSP} ", RLM + BOM, "\u3164", "\u2800", "\u0301"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("  Sales   team ", "Sales team"),
        (f"{ZWSP}Sales{RLM}", "Sales"),
        ("Sales\tand\nsupport", "Sales and support"),
        (f"👨{ZWJ}👩{ZWJ}👧 family", f"👨{ZWJ}👩{ZWJ}👧 family"),  # joiners inside stay
        ("営業部", "営業部"),
    ],
)
def test_a_name_is_tidied(given: str, kept: str) -> None:
    assert tidy(given) == kept
    assert is_acceptable(tidy(given), max_length=100)


@pytest.mark.parametrize("given", [*INVISIBLE, "", "\u00a0\u2003", "a" * 101, "Sales\x07"])
def test_a_name_without_a_visible_character_or_too_long_is_not_acceptable(given: str) -> None:
    assert not is_acceptable(tidy(given), max_length=100)


@pytest.mark.parametrize("required", [True, False])
@pytest.mark.parametrize("given", INVISIBLE)
def test_the_form_field_refuses_an_invisible_name_with_a_message(given: str, required) -> None:
    field = NameField(max_length=100, required=required)
    with pytest.raises(ValidationError, match="visible character"):
        field.clean(given)


def test_the_form_field_gives_the_tidy_name() -> None:
    assert NameField(max_length=100).clean(f"  {ZWSP}Support  desk ") == "Support desk"


@pytest.mark.django_db
@pytest.mark.parametrize("given", INVISIBLE)
def test_a_department_needs_a_visible_name(northwind: Site, given: str) -> None:
    client = signed_in(northwind, "admin")
    with schema_context(northwind.organisation.schema_name):
        before = Department.objects.count()
        response = client.post("/departments/", {"name": given})
        assert response.status_code == 400
        assert Department.objects.count() == before
        with pytest.raises(InvalidDepartmentName):
            create_department(name=given, acting_user=None)
        assert Department.objects.count() == before


@pytest.mark.django_db
def test_a_department_is_renamed_only_to_a_visible_name(northwind: Site) -> None:
    client = signed_in(northwind, "admin")
    with schema_context(northwind.organisation.schema_name):
        department = Department.objects.first()
        assert department is not None
        response = client.post(f"/departments/{department.pk}/rename/", {"name": ZWSP})
        assert response.status_code == 400
        department.refresh_from_db()
        assert department.name.strip(ZWSP)


@pytest.mark.django_db
@pytest.mark.parametrize("given", INVISIBLE[:3])
def test_a_full_name_given_must_show(northwind: Site, given: str) -> None:
    client = signed_in(northwind, "admin")
    with schema_context(northwind.organisation.schema_name):
        before = User.objects.count()
        response = client.post("/users/add/", {"email": "new@northwind.test", "full_name": given})
        assert response.status_code == 400
        with pytest.raises(InvalidFullName):
            add_user(email="new@northwind.test", full_name=given, acting_user=None)
        assert User.objects.count() == before
        # Left out, it is fine.
        assert add_user(email="new@northwind.test", full_name="", acting_user=None).full_name == ""


@pytest.mark.django_db
@pytest.mark.parametrize("given", INVISIBLE[:3])
def test_an_organisation_needs_a_visible_name(given: str) -> None:
    with pytest.raises(InvalidOrganisationName):
        create_organisation(name=given, slug="ghost", primary_contact_email="a@ghost.test")
    assert not Organisation.objects.filter(slug="ghost").exists()


@pytest.mark.django_db
def test_the_admin_takes_visible_names_only() -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(StaffFactory.create(email="staff@vendor.test", superuser=True))
    response = client.post(
        "/admin/portal/organisation/add/",
        {
            "name": ZWSP,
            "slug": "ghost",
            "primary_contact_email": "a@ghost.test",
            "plan": "free",
            "cycle": "monthly",
            "currency": "JPY",
        },
    )
    assert response.status_code == 200
    assert "visible character" in response.content.decode()
    assert not Organisation.objects.filter(slug="ghost").exists()
    plan = Plan.objects.get(code="free")
    page = client.get(f"/admin/subscriptions/plan/{plan.pk}/change/")
    form = page.context["adminform"].form
    assert isinstance(form.fields["name_en"], NameField)
    assert isinstance(form.fields["name_ja"], NameField)
