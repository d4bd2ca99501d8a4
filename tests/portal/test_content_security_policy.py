"""portal.middleware.ContentSecurityPolicyMiddleware: every response of every site carries
the policy, and no template of ours needs an exception to it. (The browser tests run under
it: a refused script or style is a console error there, which fails them.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Site, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_policy_allows_only_our_own_origin_and_nothing_inline() -> None:
    policy = _policy(Client(HTTP_HOST="localhost").get("/"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in settings.PORTAL_CSP


def test_every_kind_of_page_carries_it(northwind: Site) -> None:
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(StaffFactory.create(email="staff@vendor.test", superuser=True))
    primary = signed_in(northwind, "primary")
    responses = {
        "dashboard": primary.get("/"),
        "store": primary.get("/store/plans/"),
        "sign-in": Client(HTTP_HOST=northwind.host).get("/accounts/login/"),
        "admin": staff.get("/admin/subscriptions/refundrequest/"),
        "insight": staff.get("/admin/subscriptions/planchange/insight/"),
        "landing": Client(HTTP_HOST="localhost").get("/"),
        "unknown host": Client(HTTP_HOST="nobody.localhost").get("/"),
        "refused": primary.get("/users/?q=%00"),
        "forbidden": signed_in(northwind, "agent").get("/store/"),
        "not found": primary.get("/no/such/page/"),
    }
    for name, response in responses.items():
        assert response["Content-Security-Policy"] == settings.PORTAL_CSP, name
    assert responses["insight"].status_code == 200
    # The admin's pages, Django's own templates included, have no inline style either.
    for name in ("admin", "insight"):
        assert not INLINE.search(responses[name].content.decode()), name
    assert not INLINE.search(staff.get("/admin/").content.decode())


INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)|<style|\sstyle=|\son\w+=")


def test_no_template_of_ours_has_an_inline_script_style_or_handler() -> None:
    templates = [
        path
        for app in ("portal", "accounts", "subscriptions")
        for path in (ROOT / app).rglob("templates/**/*.html")
    ]
    assert len(templates) > 20
    offenders = [str(path) for path in templates if INLINE.search(path.read_text())]
    assert offenders == []
