"""Self-service sign-up on the public site, through its pages and the real queue's task:
the form's refusals, the availability check with and without JavaScript, the emailed
verification, provisioning (and its failure, which leaves nothing), the one-time sign-in
on the new site, rate limits, expiry and the admin's list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import User
from organisations import provisioning, signups
from organisations.services import address_refusal
from organisations.tasks import expire_sign_ups, provision_sign_up
from portal.models import Domain, Organisation, SignUp
from portal.tenancy import use_public_schema
from subscriptions.models import Subscription
from tests.conftest import Site, owner_role, queued_emails, send_queued_emails
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-42"


def public_client() -> Client:
    return Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")


def form(**changes: str) -> dict[str, str]:
    data = {
        "organisation_name": "Sakura Support",
        "address": "sakura",
        "full_name": "Hana Sato",
        "email": "hana@sakura.test",
        "password": PASSWORD,
        "idempotency_key": "k" + str(len(changes)) + "".join(sorted(changes.values()))[:40],
    }
    data.update(changes)
    data["idempotency_key"] = re.sub(r"[^A-Za-z0-9_-]", "-", data["idempotency_key"])
    return data


def sign_up(client: Client, **changes: str) -> Any:
    return client.post("/signup/", form(**changes))


def verification_link() -> str:
    [email] = send_queued_emails()
    [link] = re.findall(r"http://\S+/signup/verify/\S+/", str(email.body))
    return urlsplit(link).path


def provision_queued() -> None:
    """Run the queued provisioning jobs' task, as a worker would."""
    jobs = ProcrastinateJob.objects.filter(task_name=provision_sign_up.name, status="todo")
    for job in jobs:
        provision_sign_up(**job.args)


def schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'org_%'")
        return {row[0] for row in cursor.fetchall()}


# --- The form ----------------------------------------------------------------------------


def test_the_landing_page_offers_to_start_free() -> None:
    page = public_client().get("/").content.decode()
    assert 'href="/signup/"' in page and "Start free" in page


def test_the_sign_up_page_says_what_free_means() -> None:
    response = public_client().get("/signup/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Free plan: up to 3 agents and 1 department, at no charge" in page
    assert ".localhost" in page  # the address is shown with its domain
    # The password's rules before the first try, not only after a refusal.
    assert 'id="id_password_helptext"' in page and "At least 8 characters" in page


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("admin", "is reserved"),
        ("-sakura", "lowercase letters"),
        ("sakura_support", "lowercase letters"),
        ("a" * 41, "at most 40 characters"),
        ("northwind", "already exists"),  # an organisation's
        ("xn--abc", "two hyphens"),  # an internationalised domain name's label
        ("ab--cd", "two hyphens"),
    ],
)
def test_an_address_that_cannot_be_had_is_refused_with_the_reason(
    northwind: Site, address: str, reason: str
) -> None:
    response = sign_up(public_client(), address=address)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not SignUp.objects.exists()
    assert queued_emails() == []


def test_an_address_held_by_a_verified_sign_up_is_refused() -> None:
    client = public_client()
    assert sign_up(client).status_code == 302
    client.post(verification_link(), {"idempotency_key": "verify-held"})
    response = sign_up(public_client(), email="someone@else.test")
    assert response.status_code == 400
    # Not an organisation (yet): said as it is.
    assert "was just taken by a sign-up" in response.content.decode()
    assert "already exists" not in response.content.decode()
    assert SignUp.objects.count() == 1


def test_a_full_width_address_is_written_in_half_width() -> None:
    """Typed with a Japanese input method (ｓａｋｕｒａ), the address is the site's sakura."""
    client = public_client()
    assert client.get("/signup/address/", {"address": "ｓａｋｕｒａ"}).json()["available"]
    assert sign_up(client, address="ＳＡＫＵＲＡ").status_code == 302
    assert SignUp.objects.get().slug == "sakura"


def test_an_address_whose_schema_is_still_there_is_refused() -> None:
    """An organisation deleted without its data keeps its schema: a newcomer must never
    be handed it."""
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_sakura")
    response = sign_up(public_client())
    assert response.status_code == 400
    assert "belonged to an earlier organisation" in response.content.decode()
    assert not SignUp.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("organisation_name", " \u200b ", "visible character"),
        ("email", "not-an-address", "valid email address"),
        ("password", "short", "too short"),
        ("password", "hana@sakura.test", "too similar"),
        ("full_name", "", "This field is required"),
    ],
)
def test_bad_details_get_the_form_back_and_change_nothing(
    field: str, value: str, reason: str
) -> None:
    response = sign_up(public_client(), **{field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert reason in page
    assert PASSWORD not in page  # the password is never sent back
    assert not SignUp.objects.exists()


# --- The availability check --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "available", "message"),
    [
        ("sakura", True, "“sakura” is available."),
        ("Sakura ", True, "“sakura” is available."),
        ("northwind", False, "already exists"),
        ("www", False, "is reserved"),
        ("no_underscores", False, "lowercase letters"),
        ("", False, "This field is required"),
    ],
)
def test_availability_as_you_type(
    northwind: Site, address: str, available: bool, message: str
) -> None:
    client = public_client()
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/signup/address/", {"address": address}).json()
    assert answer["available"] is available
    assert message in answer["message"]
    assert len(queries) <= 1  # one question to the database, whatever the number of sites


def test_availability_without_javascript_keeps_the_form_and_creates_nothing(
    northwind: Site,
) -> None:
    client = public_client()
    response = client.post("/signup/", {**form(address="northwind"), "check": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "already exists" in page
    assert 'value="Sakura Support"' in page and 'value="hana@sakura.test"' in page
    assert PASSWORD not in page
    response = client.post("/signup/", {**form(), "check": "1"})
    assert "“sakura” is available." in response.content.decode()
    assert not SignUp.objects.exists()


# --- From the form to the new site -------------------------------------------------------


def test_from_the_form_to_the_dashboard_of_the_new_site() -> None:
    client = public_client()
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert "hana@sakura.test" in client.get("/signup/sent/").content.decode()
    started = SignUp.objects.get()
    assert started.state == SignUp.State.PENDING
    assert started.password.startswith("pbkdf2_") or "$" in started.password
    assert PASSWORD not in started.password

    link = verification_link()
    confirm = client.get(link)  # a mail scanner's visit verifies nothing
    assert confirm.status_code == 200 and "sakura.localhost" in confirm.content.decode()
    started.refresh_from_db()
    assert started.state == SignUp.State.PENDING

    response = client.post(link, {"idempotency_key": "verify-1"})
    progress = f"/signup/{started.reference}/"
    assert response.status_code == 302 and response["Location"] == progress
    started.refresh_from_db()
    assert started.state == SignUp.State.VERIFIED
    page = client.get(progress)
    assert page.status_code == 200
    assert "signup_progress.js" in page.content.decode()  # it asks until the site exists
    status = client.get(f"/signup/{started.reference}/status/").json()
    assert status["state"] == "verified"

    provision_queued()
    started.refresh_from_db()
    assert started.state == SignUp.State.DONE and started.password == ""
    organisation = Organisation.objects.get(slug="sakura")
    assert started.organisation == organisation
    assert Domain.objects.filter(tenant=organisation, domain="sakura.localhost").exists()
    # On the trial a sign-up starts (the top plan for 15 days), Free afterwards.
    subscription = Subscription.objects.get(organisation=organisation)
    assert (subscription.plan.code, subscription.amount_paid) == ("enterprise", 0)
    assert subscription.trial_ends_on == subscription.period_end + timedelta(days=1)
    # An email gives the new site's address, to find it again later.
    [ready] = [email for email in queued_emails() if "is ready" in email["subject"]]
    assert ready["to"] == ["hana@sakura.test"] and ready["body"].startswith("Dear Hana Sato,")
    assert "http://sakura.localhost:8000/" in ready["body"]

    onward = client.get(progress)
    assert onward.status_code == 302
    welcome = urlsplit(onward["Location"])
    assert welcome.netloc.startswith("sakura.localhost")
    site = Client(HTTP_HOST="sakura.localhost")
    landed = site.get(welcome.path)
    assert landed.status_code == 302 and landed["Location"] == "/"
    dashboard = site.get("/")
    assert dashboard.status_code == 200
    assert "Sakura Support" in dashboard.content.decode()
    with schema_context(organisation.schema_name):
        contact = User.objects.get(email="hana@sakura.test")
        assert contact.is_primary_contact and contact.is_super_admin
        assert contact.full_name == "Hana Sato"
        assert contact.check_password(PASSWORD)
        assert int(site.session["_auth_user_id"]) == contact.pk
    # The link signs in once.
    assert Client(HTTP_HOST="sakura.localhost").get(welcome.path).status_code == 404


def test_only_the_browser_that_verified_sees_the_progress() -> None:
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-2"})
    started = SignUp.objects.get()
    assert public_client().get(f"/signup/{started.reference}/").status_code == 404
    assert public_client().get(f"/signup/{started.reference}/status/").status_code == 404
    assert client.get(f"/signup/{started.reference}/").status_code == 200


def test_verifying_twice_queues_the_site_once() -> None:
    client = public_client()
    sign_up(client)
    link = verification_link()
    client.post(link, {"idempotency_key": "verify-3"})
    second = public_client().post(link, {"idempotency_key": "verify-4"})
    assert second.status_code == 302
    jobs = ProcrastinateJob.objects.filter(task_name=provision_sign_up.name)
    assert jobs.count() == 1


def test_a_new_sign_up_with_the_same_email_replaces_the_unverified_one() -> None:
    client = public_client()
    sign_up(client)
    first = verification_link()
    sign_up(client, address="sakura-2", idempotency_key="again")
    second = verification_link()
    assert list(SignUp.objects.values_list("slug", flat=True)) == ["sakura-2"]
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert address_refusal("sakura") is None  # the first address is free again


def test_the_welcome_link_works_only_on_its_own_site(northwind: Site) -> None:
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-5"})
    provision_queued()
    started = SignUp.objects.get()
    key = signups.welcome_key(started)
    elsewhere = Client(HTTP_HOST=northwind.host)
    assert elsewhere.get(f"/welcome/{key}/").status_code == 404
    assert "_auth_user_id" not in elsewhere.session
    use_public_schema()  # sakura's sign-up is not northwind's to change (row-level security)
    SignUp.objects.filter(pk=started.pk).update(
        welcome_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client(HTTP_HOST="sakura.localhost").get(f"/welcome/{key}/").status_code == 404


# --- Failure, expiry, rate limits --------------------------------------------------------


def test_a_failed_provisioning_leaves_nothing_and_can_be_retried() -> None:
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-6"})
    started = SignUp.objects.get()
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_sakura")  # left over by something else
    before = schemas()

    provision_queued()
    started.refresh_from_db()
    assert started.state == SignUp.State.FAILED
    assert "belonged to an earlier organisation" in started.failure
    assert not Organisation.objects.filter(slug="sakura").exists()
    assert not Domain.objects.filter(domain="sakura.localhost").exists()
    assert schemas() == before
    page = client.get(f"/signup/{started.reference}/").content.decode()
    assert "could not create your site" in page and "signup_progress.js" not in page
    assert address_refusal("sakura") is not None  # still held for the retry

    with owner_role(), connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA org_sakura")
    retry = client.post(f"/signup/{started.reference}/retry/", {"idempotency_key": "retry-1"})
    assert retry.status_code == 302
    started.refresh_from_db()
    assert started.state == SignUp.State.VERIFIED
    provision_queued()
    started.refresh_from_db()
    assert (started.state, started.attempts) == (SignUp.State.DONE, 2)
    assert Organisation.objects.filter(slug="sakura").exists()


def test_a_sign_up_that_did_not_fail_cannot_be_retried() -> None:
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-7"})
    started = SignUp.objects.get()
    client.post(f"/signup/{started.reference}/retry/", {"idempotency_key": "retry-2"})
    assert ProcrastinateJob.objects.filter(task_name=provision_sign_up.name).count() == 1


def test_unverified_sign_ups_expire_and_free_their_address() -> None:
    client = public_client()
    sign_up(client)
    link = verification_link()
    SignUp.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert address_refusal("sakura") is None
    response = client.get(link)
    assert response.status_code == 404 and "expired" in response.content.decode()
    expire_sign_ups()
    assert not SignUp.objects.exists()


def test_the_expiry_keeps_open_sign_ups_within_their_time() -> None:
    sign_up(public_client())
    assert provisioning.expire_sign_ups() == 0
    assert SignUp.objects.count() == 1


def test_a_verified_sign_up_is_never_forgotten_by_the_expiry() -> None:
    """The person proved the address theirs: waiting, failed or retried, the sign-up and
    its address stay until the site exists (or staff delete it)."""
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-10"})
    SignUp.objects.update(state=SignUp.State.FAILED, failure="Boom")
    years_later = timezone.now() + timedelta(days=3650)
    assert provisioning.expire_sign_ups(now=years_later) == 0
    assert SignUp.objects.get().state == SignUp.State.FAILED
    assert address_refusal("sakura") is not None


def test_sign_ups_are_rate_limited_per_ip_address(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {"start_organisation": "2/h/ip"}
    client = public_client()
    for number in range(2):
        assert sign_up(client, email=f"p{number}@x.test", address=f"a{number}").status_code == 302
    refused = sign_up(client, email="p3@x.test", address="a3")
    assert refused.status_code == 429
    assert SignUp.objects.count() == 2


def test_sign_ups_are_rate_limited_per_email_address(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {"start_organisation": "100/h/ip,1/h/key"}
    client = public_client()
    assert sign_up(client).status_code == 302
    assert sign_up(client, address="sakura-2", idempotency_key="b").status_code == 429
    assert sign_up(client, email="other@x.test", address="s3").status_code == 302
    assert set(SignUp.objects.values_list("slug", flat=True)) == {"sakura", "s3"}


# --- Staff -------------------------------------------------------------------------------


def staff(group: str) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(StaffFactory.create(email=f"{group[:4]}@vendor.test", groups=[group]))
    return client


def test_staff_see_sign_ups_and_billing_operations_retry_failed_ones() -> None:
    client = public_client()
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-8"})
    started = SignUp.objects.get()
    SignUp.objects.filter(pk=started.pk).update(state=SignUp.State.FAILED, failure="Boom")

    support = staff("Support").get("/admin/portal/signup/")
    assert support.status_code == 200
    page = support.content.decode()
    assert "sakura" in page and "hana@sakura.test" in page
    assert 'value="retry"' not in page  # Support only looks

    billing = staff("Billing operations")
    assert 'value="retry"' in billing.get("/admin/portal/signup/").content.decode()
    detail = billing.get(f"/admin/portal/signup/{started.pk}/change/").content.decode()
    assert "Boom" in detail and "pbkdf2" not in detail
    response = billing.post(
        "/admin/portal/signup/",
        {"action": "retry", "_selected_action": [started.pk]},
    )
    assert response.status_code == 302
    started.refresh_from_db()
    assert started.state == SignUp.State.VERIFIED


def test_the_sign_up_pages_cost_a_few_queries_whatever_the_number_of_sites(
    northwind: Site, contoso: Site, django_assert_max_num_queries: Any
) -> None:
    client = public_client()
    # The starter plan and its departments, the trial's plan name (then cached).
    with django_assert_max_num_queries(3):
        assert client.get("/signup/").status_code == 200
    sign_up(client)
    client.post(verification_link(), {"idempotency_key": "verify-9"})
    reference = SignUp.objects.get().reference
    with django_assert_max_num_queries(2):  # the session, the sign-up
        assert client.get(f"/signup/{reference}/status/").status_code == 200


def test_with_terms_named_a_sign_up_agrees_to_them_and_the_agreement_is_kept(
    settings: Any,
) -> None:
    settings.PORTAL_TERMS_URL = "https://vendor.example/terms"
    settings.PORTAL_PRIVACY_URL = "https://vendor.example/privacy"
    client = public_client()
    page = client.get("/signup/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="terms"' in page and 'href="https://vendor.example/privacy"' in page
    refused = sign_up(client)
    assert refused.status_code == 400
    assert "Agree to the terms and the privacy policy" in refused.content.decode()
    assert not SignUp.objects.exists()
    assert sign_up(client, terms="on").status_code == 302
    kept = SignUp.objects.get()
    assert kept.terms_accepted == "https://vendor.example/terms https://vendor.example/privacy"
    assert kept.terms_accepted_at is not None


def test_without_terms_named_nothing_is_asked() -> None:
    page = public_client().get("/signup/").content.decode()
    assert 'data-testid="terms"' not in page
    assert sign_up(public_client()).status_code == 302
    assert SignUp.objects.get().terms_accepted == ""
