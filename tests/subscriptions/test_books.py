"""The books kept (admin: Invoices): every invoice and return invoice, searched by date
range, amount range and counterparty, and their combination, exported as CSV; an
organisation's documents stay there after it closed."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import Invoice
from subscriptions.services import closing
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db
ARCHIVE = "/admin/subscriptions/invoice/"
_numbers = itertools.count(1)


@pytest.fixture
def books(catalogue: None) -> dict[str, Invoice]:
    """Two organisations' first invoices: a small one and a large one."""
    small, _ = make_organisation("standard", seats=2, slug=f"books-small-{next(_numbers)}")
    large, _ = make_organisation("enterprise", seats=20, slug=f"books-large-{next(_numbers)}")
    return {
        "small": Invoice.objects.get(organisation=small),
        "large": Invoice.objects.get(organisation=large),
    }


def _staff() -> Client:
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(StaffFactory.create(is_superuser=True))
    return client


def _listed(client: Client, query: str) -> set[str]:
    page = client.get(f"{ARCHIVE}?{query}")
    assert page.status_code == 200, query
    return set(re.findall(r"(INV-\d{4}-\d+)", page.content.decode()))


def test_the_archive_is_searched_by_date_amount_and_counterparty(
    books: dict[str, Invoice],
) -> None:
    small, large = books["small"], books["large"]
    client = _staff()
    today = timezone.localdate()
    middle = (small.total + large.total) / 2
    both = {small.number, large.number}
    assert both <= _listed(client, f"issued_on__gte={today}&issued_on__lte={today}")
    assert not both & _listed(client, f"issued_on__gte={today + timedelta(days=1)}")
    assert _listed(client, f"total__lte={middle}") & both == {small.number}
    assert _listed(client, f"total__gte={middle}") & both == {large.number}
    # The counterparty: the buyer as the document names it.
    assert _listed(client, f"q={large.buyer_name}") & both == {large.number}
    combined = f"q=books&total__gte={middle}&issued_on__gte={today}"
    assert _listed(client, combined) & both == {large.number}
    # A bound the field cannot take is refused like any bad filter, not a 500.
    assert client.get(f"{ARCHIVE}?total__gte=lots").status_code in (200, 302)


def test_the_filtered_archive_is_exported_as_csv_for_excel(books: dict[str, Invoice]) -> None:
    large = books["large"]
    middle = (books["small"].total + large.total) / 2
    response = _staff().get(f"{ARCHIVE}export/?total__gte={middle}&q=books")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # a byte-order mark: Excel in Japan reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["number"] for row in rows] == [large.number]
    assert rows[0]["buyer_name"] == large.buyer_name and rows[0]["total"] == str(large.total)
    assert _staff().get(f"{ARCHIVE}export/?total__gte=lots").status_code == 400


def test_a_closed_organisations_documents_stay_in_the_books(books: dict[str, Invoice]) -> None:
    small = books["small"]
    closing.close_now(small.organisation, acting_user=None)
    assert small.organisation.closed_on is not None
    assert small.number in _listed(_staff(), f"q={small.organisation.slug}")
