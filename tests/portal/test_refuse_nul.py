"""A NUL character (which PostgreSQL text cannot hold) in a query or a form is answered 400
with a message, on every site, before anything is read or written
(``portal.middleware.RefuseNulMiddleware``)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Department
from audit.models import AuditEvent
from portal.tenancy import use_public_schema
from subscriptions.models import PlanChange
from tests.conftest import Site, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

MESSAGE = "The request contained a NUL character"


def _refused(response) -> None:
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/departments/", {"name": "Sales\x00"}),
        ("/users/add/", {"email": "new@northwind.test", "full_name": "New\x00"}),
        ("/store/plans/professional/", {"idempotency_key": "0" * 31 + "\x00"}),
        ("/store/plans/professional/", {"idempotency_key": "0" * 32, "seats\x00": "3"}),
    ],
)
def test_a_form_with_a_nul_is_refused_and_changes_nothing(
    northwind: Site, path: str, data: dict[str, str]
) -> None:
    client = signed_in(northwind, "primary")
    with schema_context(northwind.organisation.schema_name):
        departments = Department.objects.count()
    changes, events = PlanChange.objects.count(), AuditEvent.objects.count()
    _refused(client.post(path, data))
    with schema_context(northwind.organisation.schema_name):
        assert Department.objects.count() == departments
    use_public_schema()  # every organisation's rows (row-level security)
    assert (PlanChange.objects.count(), AuditEvent.objects.count()) == (changes, events)


@pytest.mark.parametrize(
    "path", ["/users/?page=%00", "/store/plans/professional/?seats=1%00", "/store/history/?x=%00"]
)
def test_a_query_with_a_nul_is_refused_on_an_organisations_site(northwind: Site, path: str) -> None:
    _refused(signed_in(northwind, "primary").get(path))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/portal/organisation/?subscription__cycle__exact=%00",
        "/admin/subscriptions/refundrequest/?status__exact=%00",
        "/admin/audit/auditevent/?q=%00",
    ],
)
def test_a_query_with_a_nul_is_refused_in_the_admin(path: str) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(StaffFactory.create(email="staff@vendor.test", superuser=True))
    _refused(client.get(path))


def test_an_uploaded_file_may_hold_nul_bytes(northwind: Site) -> None:
    # Only form fields are checked: a file's bytes are not text for PostgreSQL.
    upload = SimpleUploadedFile("data.bin", b"\x00\x01")
    response = signed_in(northwind, "primary").post("/departments/", {"name": "", "file": upload})
    assert response.status_code == 400
    assert MESSAGE not in response.content.decode()
