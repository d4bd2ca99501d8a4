"""Self-service sign-up in a real browser, in Japanese: from the public page to the new
site's dashboard, through the emailed link, the real queue and a real worker."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from accounts.models import User
from portal.models import Organisation, SignUp
from portal.tenancy import use_public_schema
from subscriptions.models import Subscription
from tests.browser.test_phone import PHONE, _fits
from tests.conftest import drop_schemas, queued_emails

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-42"


@dataclass
class Public:
    base: str
    port: str

    def site(self, slug: str) -> str:
        return f"http://{slug}.localhost:{self.port}"


@pytest.fixture
def public(catalogue: None, live_server: Any, settings: Any) -> Iterator[Public]:
    port = live_server.url.rsplit(":", 1)[1]
    settings.PORTAL_PORT = port  # the links the portal makes (emails, redirects)
    yield Public(f"http://localhost:{port}", port)
    use_public_schema()
    drop_schemas("org_sakura")


def run_worker() -> None:
    """A real worker, in its own thread (Playwright's loop runs in this one), until no
    job is ready: the sign-up's provisioning and the emails."""

    def work() -> None:
        assert isinstance(app.connector, DjangoConnector)
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.run_worker(
                    queues=["sign_ups", "emails"],
                    wait=False,
                    install_signal_handlers=False,
                    listen_notify=False,
                )
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()


def test_a_newcomer_signs_up_in_japanese_and_lands_on_the_new_dashboard(
    walk, public: Public
) -> None:
    steps = walk(locale="ja")
    page = steps.page
    page.goto(public.base + "/")
    steps.check("landing")
    page.get_by_role("link", name="無料で始める").click()
    page.wait_for_url(public.base + "/signup/")
    steps.check("signup")

    page.fill("input[name=organisation_name]", "さくらサポート")
    page.fill("input[name=address]", "admin")  # reserved: said as it is typed
    page.wait_for_selector("#address_status.availability--taken")
    assert "予約" in page.inner_text("#address_status")
    # The page answers as it is typed: no button to press (that is for pages without
    # JavaScript); full-width letters typed in Japanese are the address's half-width ones.
    assert not page.is_visible("[data-testid=check-address]")
    page.fill("input[name=address]", "ｓａｋｕｒａ")
    page.wait_for_selector("#address_status.availability--ok")
    assert "sakura" in page.inner_text("#address_status")
    page.fill("input[name=address]", "sakura")
    page.fill("input[name=full_name]", "佐藤 花")
    page.fill("input[name=email]", "hana@sakura.test")
    page.fill("input[name=password]", PASSWORD)
    steps.check("signup-filled")
    page.get_by_role("button", name="サイトを作成する").click()
    page.wait_for_url(public.base + "/signup/sent/")
    steps.check("sent")
    assert "hana@sakura.test" in page.inner_text("main")

    [email] = queued_emails()
    assert email["to"] == ["hana@sakura.test"]
    assert "さくらサポート" in email["subject"]
    [link] = re.findall(r"http://\S+/signup/verify/\S+/", email["body"])
    assert link.startswith(public.base)
    page.goto(link)
    steps.check("confirm")
    assert SignUp.objects.get().state == SignUp.State.PENDING  # the visit alone verifies nothing
    page.get_by_role("button", name="確認してサイトを作成する").click()
    page.wait_for_url(re.compile(r"/signup/[0-9a-f-]{36}/$"))
    steps.check("progress")
    assert "sakura.localhost" in page.inner_text("main")

    run_worker()
    page.wait_for_url(public.site("sakura") + "/", timeout=20_000)  # it refreshes itself
    steps.check("dashboard")
    assert "さくらサポート" in page.inner_text("header")
    assert "ようこそ！ヘルプデスクのサイトの準備ができました。" in page.inner_text("main")
    assert "エンタープライズプランのトライアル：残り15日" in page.inner_text("main")
    organisation = Organisation.objects.get(slug="sakura")
    # On the trial a sign-up starts (the top plan for 15 days), Free afterwards.
    subscription = Subscription.objects.get(organisation=organisation)
    assert (subscription.plan.code, subscription.amount_paid) == ("enterprise", 0)
    assert subscription.trial_ends_on == subscription.period_end + timedelta(days=1)
    with schema_context(organisation.schema_name):
        contact = User.objects.get(email="hana@sakura.test")
        assert contact.is_primary_contact and contact.check_password(PASSWORD)
    steps.finish()

    steps.for_docs("signup-", ("signup-filled", "progress", "dashboard"))


def test_the_sign_up_page_fits_a_phone_and_checks_without_javascript(
    browser: Any, walk, public: Public
) -> None:
    steps = walk(locale="ja", **PHONE)
    page = steps.page
    page.goto(public.base + "/signup/")
    assert _fits(page) == []
    steps.check("phone")

    context = browser.new_context(locale="ja", java_script_enabled=False, **_viewport())
    try:
        plain = context.new_page()
        plain.goto(public.base + "/signup/")
        plain.fill("input[name=organisation_name]", "さくらサポート")
        plain.fill("input[name=address]", "www")
        plain.get_by_role("button", name="使えるか確かめる").click()
        assert "予約" in plain.inner_text("#address_status")
        assert plain.input_value("input[name=organisation_name]") == "さくらサポート"
        plain.fill("input[name=address]", "sakura")
        plain.get_by_role("button", name="使えるか確かめる").click()
        assert "使用できます" in plain.inner_text("#address_status")
        assert not SignUp.objects.exists()
    finally:
        context.close()
    steps.finish()


def _viewport() -> dict[str, Any]:
    return {"viewport": {"width": PHONE["width"], "height": PHONE["height"]}}
