"""A sign-up's browser is not a standing key to the new organisation, and an address cannot
be squatted or its sign-up spied on (organisations/signups.py, organisations/views.py).

Before: every visit to a done sign-up's progress page issued a new welcome key, for whoever
was the primary contact at that moment, to any browser holding the reference (14 days),
and merely opening the verification link put the reference in a browser's session. An
unverified sign-up held its address for a day; the availability check had no limit and told
pending sign-ups from free addresses."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import User
from accounts.services import add_user, transfer_primary_contact
from organisations.exceptions import OrganisationAddressTaken
from organisations.services import create_organisation
from organisations.signups import WELCOME_ISSUE_WITHIN
from organisations.tasks import provision_sign_up
from portal.models import Organisation, SignUp
from tests.conftest import PASSWORD, send_queued_emails

pytestmark = pytest.mark.django_db


def browser() -> Client:
    return Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")


def start(client: Client, *, email: str = "hana@sakura.test", key: str = "a") -> str:
    """Sign up for sakura; the verification link's path."""
    response = client.post(
        "/signup/",
        {
            "organisation_name": "Sakura Support",
            "address": "sakura",
            "full_name": "Hana Sato",
            "email": email,
            "password": PASSWORD,
            "idempotency_key": f"start-{key}",
        },
    )
    assert response.status_code == 302, response.content.decode()
    [message] = send_queued_emails()
    [link] = re.findall(r"http://\S+/signup/verify/\S+/", str(message.body))
    return urlsplit(link).path


def provision() -> None:
    for job in ProcrastinateJob.objects.filter(task_name=provision_sign_up.name, status="todo"):
        provision_sign_up(**job.args)


def signed_up() -> tuple[Client, SignUp]:
    """A browser that verified its sign-up, and the sign-up, now done."""
    client = browser()
    client.post(start(client), {"idempotency_key": "verify"})
    provision()
    return client, SignUp.objects.get()


def progress(client: Client, found: SignUp) -> Any:
    return client.get(f"/signup/{found.reference}/")


def welcome_path(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()
    return urlsplit(response["Location"]).path


# --- The welcome key ---------------------------------------------------------------------


def test_the_welcome_key_is_issued_once() -> None:
    client, found = signed_up()
    first = welcome_path(progress(client, found))
    again = progress(client, found)  # a second visit, before or after using the first
    assert again.status_code == 200
    page = again.content.decode()
    assert "Your site is ready" in page and "http://sakura.localhost:8000/accounts/login/" in page
    assert "/welcome/" not in page
    site = Client(HTTP_HOST="sakura.localhost")
    assert site.get(first).status_code == 302 and site.get("/").status_code == 200


def test_no_welcome_key_minutes_after_the_site_was_made() -> None:
    client, found = signed_up()
    SignUp.objects.filter(pk=found.pk).update(
        done_at=timezone.now() - WELCOME_ISSUE_WITHIN - timedelta(seconds=1)
    )
    late = progress(client, found)
    assert late.status_code == 200 and "Your site is ready" in late.content.decode()
    assert SignUp.objects.get(pk=found.pk).welcome_issued_at is None


def test_the_welcome_key_signs_in_only_the_signer_while_primary_contact() -> None:
    client, found = signed_up()
    path = welcome_path(progress(client, found))
    organisation = Organisation.objects.get(slug="sakura")
    with schema_context(organisation.schema_name):
        signer = User.objects.get(email="hana@sakura.test")
        successor = add_user(
            email="ken@sakura.test", full_name="Ken", password=PASSWORD, acting_user=None
        )
        transfer_primary_contact(successor, acting_user=signer)
    site = Client(HTTP_HOST="sakura.localhost")
    assert site.get(path).status_code == 404
    assert "_auth_user_id" not in site.session


def test_the_welcome_key_never_signs_in_someone_else_after_a_transfer() -> None:
    """Even a key issued after the role moved (before: it signed in the new primary
    contact) is refused: the sign-up's signer is no longer the primary contact."""
    client = browser()
    client.post(start(client), {"idempotency_key": "verify"})
    provision()
    organisation = Organisation.objects.get(slug="sakura")
    with schema_context(organisation.schema_name):
        signer = User.objects.get(email="hana@sakura.test")
        successor = add_user(
            email="ken@sakura.test", full_name="Ken", password=PASSWORD, acting_user=None
        )
        transfer_primary_contact(successor, acting_user=signer)
    path = welcome_path(progress(client, SignUp.objects.get()))
    site = Client(HTTP_HOST="sakura.localhost")
    assert site.get(path).status_code == 404
    assert "_auth_user_id" not in site.session


# --- The verification link ---------------------------------------------------------------


def test_opening_the_verification_link_ties_no_browser_to_the_sign_up() -> None:
    owner = browser()
    link = start(owner)
    owner.post(link, {"idempotency_key": "verify"})
    found = SignUp.objects.get()
    scanner = browser()  # a mail scanner, or anyone the link was forwarded to
    page = scanner.get(link)
    assert page.status_code == 200 and "Follow the creation of my site" in page.content.decode()
    assert progress(scanner, found).status_code == 404
    assert f"/signup/{found.reference}/status/" not in str(scanner.get(link).content)


def test_the_verification_link_of_a_done_sign_up_leads_to_the_sign_in_only() -> None:
    client = browser()
    link = start(client)
    client.post(link, {"idempotency_key": "verify"})
    provision()
    for visitor in (browser(), client):
        for response in (visitor.get(link), visitor.post(link, {"idempotency_key": "again"})):
            assert response.status_code == 200
            page = response.content.decode()
            assert "Your site is ready" in page and "/welcome/" not in page
    assert SignUp.objects.get().welcome_issued_at is None
    assert progress(browser(), SignUp.objects.get()).status_code == 404


# --- Squatting and enumeration -----------------------------------------------------------


def test_an_unverified_sign_up_holds_nothing_and_the_first_to_verify_wins() -> None:
    squatter, owner = browser(), browser()
    squatter_link = start(squatter, email="squatter@elsewhere.test", key="s")
    owner_link = start(owner, key="o")  # accepted: the address is not held
    assert owner.post(owner_link, {"idempotency_key": "verify-o"}).status_code == 302
    refused = squatter.post(squatter_link, {"idempotency_key": "verify-s"})
    assert refused.status_code == 409
    assert "was taken by someone who confirmed" in refused.content.decode()
    states = dict(SignUp.objects.values_list("email", "state"))
    assert states == {"squatter@elsewhere.test": "pending", "hana@sakura.test": "verified"}
    assert ProcrastinateJob.objects.filter(task_name=provision_sign_up.name).count() == 1


def test_the_availability_check_does_not_reveal_unverified_sign_ups() -> None:
    start(browser())
    answer = browser().get("/signup/address/", {"address": "sakura"}).json()
    assert answer["available"] is True


def test_the_availability_check_is_rate_limited(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "check_address": "5/m/ip"}
    client = browser()
    answers = [client.get("/signup/address/", {"address": f"a{n}"}) for n in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert "Too many checks" in answers[-1].json()["message"]
    # The button without JavaScript shares the allowance.
    check = {"address": "b", "check": "1", "idempotency_key": "check-1"}
    assert client.post("/signup/", check).status_code == 429


def test_an_operator_cannot_take_an_address_a_verified_sign_up_holds() -> None:
    client = browser()
    client.post(start(client), {"idempotency_key": "verify"})
    with pytest.raises(OrganisationAddressTaken):
        create_organisation(name="Other", slug="sakura", primary_contact_email="o@x.test")
    provision()
    assert SignUp.objects.get().state == SignUp.State.DONE


def test_an_address_an_operator_took_refuses_its_pending_sign_up_with_the_reason() -> None:
    client = browser()
    link = start(client)
    create_organisation(name="Other", slug="sakura", primary_contact_email="o@x.test")
    refused = client.post(link, {"idempotency_key": "verify"})
    assert refused.status_code == 409
    assert "was taken" in refused.content.decode()
    assert not ProcrastinateJob.objects.filter(task_name=provision_sign_up.name).exists()
