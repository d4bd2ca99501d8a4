"""Rate limits count real clients, behind the documented proxy too, and cannot be turned
against a user (portal/clients.py, accounts/adapter.py).

Behind a TLS proxy every request arrives from the proxy: sign-ups, sign-ins and the address
check were limited for everyone at once, and five wrong passwords from anywhere locked a user
(staff included) out from everywhere, again and again. Password-reset emails to one address
were bounded only per minute."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from portal.models import SignUp
from tests.conftest import PASSWORD, Site, send_queued_emails
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

STRANGER, USER, PROXY = "203.0.113.9", "198.51.100.7", "10.0.0.2"


def client(site: Site | None, address: str, *, proxy: str | None = None) -> Client:
    """A browser at ``address``: directly, or through a proxy at ``proxy`` that appends
    the address it saw to X-Forwarded-For."""
    host = site.host if site else "localhost"
    if proxy is None:
        return Client(HTTP_HOST=host, REMOTE_ADDR=address)
    return Client(HTTP_HOST=host, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=address)


def sign_in(browser: Client, email: str, password: str = PASSWORD) -> Any:
    return browser.post("/accounts/login/", {"login": email, "password": password})


def locked(response: Any) -> bool:
    return "Too many failed login attempts" in response.content.decode()


# --- Sign-in failures --------------------------------------------------------------------


def test_a_strangers_wrong_passwords_lock_out_only_the_stranger(northwind: Site) -> None:
    stranger = client(northwind, STRANGER)
    for _ in range(5):
        sign_in(stranger, northwind.email("agent"), "guess")
    assert locked(sign_in(stranger, northwind.email("agent")))
    user = client(northwind, USER)
    response = sign_in(user, northwind.email("agent"))
    assert response.status_code == 302
    assert user.get("/").status_code == 200


def test_vendor_staff_are_not_locked_out_by_strangers() -> None:
    StaffFactory.create(email="staff@vendor.test", superuser=True)
    stranger = client(None, STRANGER)
    for _ in range(6):
        sign_in(stranger, "staff@vendor.test", "guess")
    staff = client(None, USER)
    assert sign_in(staff, "staff@vendor.test").status_code == 302
    assert staff.get("/admin/").status_code == 200


def test_guessing_from_many_addresses_is_bounded_but_a_known_browser_gets_in(
    northwind: Site, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed_strangers": "4/h/key",
    }
    known = client(northwind, USER)
    assert sign_in(known, northwind.email("agent")).status_code == 302
    known.post("/accounts/logout/")
    for number in range(4):  # four strangers, one guess each
        sign_in(client(northwind, f"203.0.113.{number + 20}"), northwind.email("agent"), "x")
    # A new client now waits, even with the right password ...
    assert locked(sign_in(client(northwind, "192.0.2.50"), northwind.email("agent")))
    # ... but the browser that signed in before still gets in.
    assert sign_in(known, northwind.email("agent")).status_code == 302
    assert known.get("/").status_code == 200


def test_a_known_browser_cookie_works_only_for_its_account_and_site(
    northwind: Site, contoso: Site
) -> None:
    known = client(northwind, USER)
    sign_in(known, northwind.email("agent"))
    cookie = known.cookies["portal_known_browser"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    # Carried to another account: it counts as a stranger there (five guesses lock it).
    other = client(northwind, USER)
    other.cookies["portal_known_browser"] = cookie.value
    for _ in range(5):
        sign_in(other, northwind.email("admin"), "guess")
    assert locked(sign_in(other, northwind.email("admin")))
    # Carried to another site: nothing.
    elsewhere = client(contoso, USER)
    elsewhere.cookies["portal_known_browser"] = cookie.value
    for _ in range(5):
        sign_in(elsewhere, contoso.email("agent"), "guess")
    assert locked(sign_in(elsewhere, contoso.email("agent")))


# --- The client behind the proxy ---------------------------------------------------------


def sign_up(browser: Client, number: int) -> Any:
    return browser.post(
        "/signup/",
        {
            "organisation_name": f"Sakura {number}",
            "address": f"sakura-{number}",
            "full_name": "Hana Sato",
            "email": f"hana{number}@sakura.test",
            "password": PASSWORD,
            "idempotency_key": f"proxy-sign-up-{number}",
        },
    )


def test_limits_count_each_client_behind_a_proxy_on_the_same_machine(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "start_organisation": "1/h/ip"}
    # The proxy on 127.0.0.1 (FORWARDED_ALLOW_IPS): each client has its own allowance.
    assert sign_up(client(None, USER, proxy="127.0.0.1"), 1).status_code == 302
    assert sign_up(client(None, STRANGER, proxy="127.0.0.1"), 2).status_code == 302
    assert sign_up(client(None, USER, proxy="127.0.0.1"), 3).status_code == 429
    # What a client writes into the header itself stands further left, and is not read.
    forged = Client(
        HTTP_HOST="localhost", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.1, {USER}"
    )
    assert sign_up(forged, 4).status_code == 429
    assert set(SignUp.objects.values_list("ip_address", flat=True)) == {USER, STRANGER}


def test_the_header_is_believed_only_from_a_proxy(settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "start_organisation": "1/h/ip"}
    # A client reaching the server directly cannot pass for others with the header.
    assert sign_up(client(None, USER, proxy=STRANGER), 1).status_code == 302
    assert sign_up(client(None, "192.0.2.1", proxy=STRANGER), 2).status_code == 429
    # With PORTAL_BEHIND_PROXY every request comes through the proxy: the header counts.
    settings.PORTAL_BEHIND_PROXY = True
    assert sign_up(client(None, "192.0.2.1", proxy=PROXY), 3).status_code == 302
    assert sign_up(client(None, "192.0.2.1", proxy=PROXY), 4).status_code == 429


# --- Password-reset emails ---------------------------------------------------------------


def test_password_reset_emails_to_one_address_are_bounded_per_minute_and_per_hour(
    northwind: Site,
) -> None:
    email = northwind.email("agent")
    start = timezone.now()
    sent = 0
    for minute in range(6):
        with time_machine.travel(start + timedelta(minutes=2 * minute), tick=False):
            for number in range(4):  # from four different places each time
                browser = client(northwind, f"198.51.100.{10 * minute + number}")
                browser.post("/accounts/password/reset/", {"email": email})
        sent += len(send_queued_emails())
    assert sent == 10  # 3 a minute at most, 10 in the hour


def test_the_reset_link_is_on_the_portals_address_not_the_requests_port(
    northwind: Site,
) -> None:
    browser = Client(HTTP_HOST=f"{northwind.host}:6666")
    response = browser.post("/accounts/password/reset/", {"email": northwind.email("agent")})
    assert response.status_code == 302
    [message] = send_queued_emails()
    [link] = re.findall(r"http://\S+/accounts/password/reset/key/\S+", str(message.body))
    assert link.startswith(f"http://{northwind.host}:8000/")
