"""The isolation matrix: every URL of an organisation's site, generated from the URL
resolver, requested on northwind's site with contoso's objects in its parameters, by every
role and by an anonymous visitor, with GET and POST.

How it is built
    ``tenant_patterns()`` walks ``portal.urls_tenants`` through every include (the app's
    own pages, allauth's, i18n's, the favicon). Each parameter is filled through
    ``FILLERS``, keyed by the literal path before the pattern's first parameter and the
    parameter's name (``("store/changes/", "pk")``): a new URL whose parameters are known
    (``users/<int:pk>/history/``) is in the matrix without any edit here; a parameter the
    table does not know fails ``test_every_parameter_of_every_tenant_url_is_filled`` and
    that URL's case, until someone teaches ``FILLERS`` what it is. A foreign parameter is
    one of contoso's objects (``tests/security/conftest.py``: a user and a department whose
    ids northwind lacks, a plan change with a refund quote, a pending refund request, an
    invoice number, an email confirmation key, a password reset link, a sign-up's
    one-time sign-in key and a data export's download key); a shared one is
    the plan catalogue, which every organisation reads.

What each case asserts, for anonymous, primary, super, admin and agent, GET and POST
    (the POST, CSRF-less, carries a fresh idempotency key and every field the site's forms
    take, with contoso's values where a field takes an id or an address; the GET asks to
    go ``next`` to contoso's site):
    - never a 500 nor an exception, and nothing of contoso's in the page (its name, its
      user's name and address, its department, its invoice number);
    - a redirect never leaves northwind's host;
    - a URL with a foreign parameter is refused: 403, 404 or 405 (anonymous: also the
      sign-in page), or its own contract (``CONTRACTS``: the password reset page that
      says the link is invalid), and no row changed anywhere (``Snapshot``): both schemas'
      users, departments and email addresses, every row of Subscription, PlanChange,
      ScheduledChange, RefundRequest, LedgerLine, Invoice and AuditEvent, the
      organisations, their domains and schemas, and the queued jobs (all columns, so an
      update shows, not only a count);
    - on every URL: contoso's rows never change; a GET, a refusal (4xx) or an anonymous
      request changes no row anywhere; an anonymous visitor stays anonymous, and gets the
      sign-in page for every page of the app's own URL confs.

The public site: the admin's URLs are not found on an organisation's host, whoever asks;
an organisation's session or credentials do not open the admin on the public host (even
when a staff user there has the same id), and a staff session means nothing on an
organisation's host.

Size: 54 URL patterns today (29 of the app, 23 of allauth, the favicon and i18n's), 14 of
them with contoso's objects in their parameters, × 5 visitors × 2 methods = 540 requests,
one test per pattern (each request in a savepoint rolled back, two row snapshots around
it); plus the control that contoso's own site serves each foreign value, and the public
site's tests. About 20 seconds.

Known findings are in ``FINDINGS`` (route → finding): that pattern's case xfails strictly
until the product is fixed; then remove the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import User
from portal.idempotency import new_key
from tests.conftest import PASSWORD, Site, signed_in, site_client
from tests.factories import StaffFactory
from tests.security.conftest import Foreign, Snapshot, client_for, exceptions_caught, rolled_back
from tests.security.resolver import TENANT_URLCONF, TenantPattern, tenant_patterns

pytestmark = pytest.mark.django_db

PUBLIC_URLCONF = "portal.urls_public"
PUBLIC_HOST = "localhost"
VISITORS = ("anonymous", "primary", "super", "admin", "agent")
# The app's own pages: each one is for signed-in users only.
SIGNED_IN_URLCONFS = {"accounts.urls", "subscriptions.urls"}
SIGN_IN_PATH = "/accounts/login/"


FOREIGN, SHARED = "foreign", "shared"
# (the path before the first parameter, the parameter) → (kind, value).
FILLERS: dict[tuple[str, str], tuple[str, Callable[[Foreign], str]]] = {
    ("users/", "pk"): (FOREIGN, lambda f: str(f.user_id)),
    ("departments/", "pk"): (FOREIGN, lambda f: str(f.department_id)),
    ("store/changes/", "pk"): (FOREIGN, lambda f: str(f.plan_change_id)),
    ("store/refunds/", "pk"): (FOREIGN, lambda f: str(f.refund_id)),
    ("store/invoices/", "number"): (FOREIGN, lambda f: f.invoice_number),
    # The catalogue is shared: the page is northwind's own preview.
    ("store/plans/", "plan_code"): (SHARED, lambda f: "professional"),
    ("accounts/confirm-email/", "key"): (FOREIGN, lambda f: f.email_key),
    ("accounts/password/reset/key/", "uidb36"): (FOREIGN, lambda f: f.reset_uidb36),
    ("accounts/password/reset/key/", "key"): (FOREIGN, lambda f: f.reset_key),
    ("welcome/", "key"): (FOREIGN, lambda f: f.welcome_key),
    ("export/", "token"): (FOREIGN, lambda f: f.export_token),
}

# Where a refusal is not a 403/404 by the view's design: the path before the parameters →
# what the page says instead, with status 200 (and nothing changed).
BAD_RESET_LINK = "This link no longer works"
BAD_CONFIRMATION_LINK = "This email confirmation link expired or is invalid"
CONTRACTS: dict[str, str] = {
    "accounts/password/reset/key/": BAD_RESET_LINK,
    "accounts/confirm-email/": BAD_CONFIRMATION_LINK,
}

# Known findings, one per pattern (each case xfails strictly until fixed): route → finding.
FINDINGS: dict[str, str] = {}


def unfilled(pattern: TenantPattern) -> list[str]:
    return [name for name in pattern.parameters if (pattern.prefix, name) not in FILLERS]


def is_foreign(pattern: TenantPattern) -> bool:
    return any(
        FILLERS[(pattern.prefix, name)][0] == FOREIGN
        for name in pattern.parameters
        if (pattern.prefix, name) in FILLERS
    )


def url_of(pattern: TenantPattern, foreign: Foreign) -> str:
    values = {name: FILLERS[(pattern.prefix, name)][1](foreign) for name in pattern.parameters}
    if pattern.name is None:
        assert not values, f"{pattern.route}: a URL with parameters needs a name"
        return "/" + pattern.route
    return reverse(pattern.name, urlconf=TENANT_URLCONF, kwargs=values)


def form_data(foreign: Foreign, contoso: Site) -> dict[str, Any]:
    """Every field the organisation site's forms take, with contoso's values where a field
    takes an id or an address."""
    return {
        "idempotency_key": new_key(),
        "email": foreign.user_email,
        "full_name": "Matrix Person",
        "is_administrator": "on",
        "is_super_admin": "on",
        "name": "Matrix department",
        "seats": "3",
        "cycle": "monthly",
        "when": "now",
        "keep": [str(foreign.user_id)],
        "reason": "other",
        "text": "matrix",
        "language": "en",
        "next": f"http://{contoso.host}/users/",
        "login": contoso.email("primary"),
        "password": PASSWORD,
        "action_add": "",
    }


def _is_sign_in(response: Any) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == SIGN_IN_PATH


@dataclass(frozen=True)
class Outcome:
    """One request and what it did."""

    visitor: str
    method: str
    response: Any
    caught: list[BaseException]  # exceptions the handler turned into a 500
    before: Snapshot
    after: Snapshot
    still_anonymous: bool
    sent: tuple[str, ...]  # the form's values


def _leaks(outcome: Outcome, foreign: Foreign, northwind: Site) -> list[str]:
    """A server error, contoso's data in the page, a redirect to another host."""
    problems = []
    status = outcome.response.status_code
    if status >= 500 or outcome.caught:
        problems.append(f"status {status}, exception {outcome.caught!r}")
    # The page may repeat what was sent: the address asked for (the language switch's
    # "next"), a form's values (a form shown again).
    page = outcome.response.content.decode(errors="replace")
    for sent in (outcome.response.wsgi_request.path, *outcome.sent):
        page = page.replace(sent, "")
    shown = [marker for marker in foreign.markers if marker in page]
    if shown:
        problems.append(f"shows contoso's {shown}")
    if 300 <= status < 400:
        host = urlsplit(outcome.response["Location"]).netloc
        if host and host != northwind.host:
            problems.append(f"redirects to another host: {outcome.response['Location']}")
    return problems


def _refusals(pattern: TenantPattern, outcome: Outcome) -> list[str]:
    """A foreign URL not refused; a change made by a refusal, a GET or an anonymous
    visitor, or to contoso's rows; an anonymous visitor signed in or let in."""
    problems = []
    response, status = outcome.response, outcome.response.status_code
    anonymous = outcome.visitor == "anonymous"
    refused = status >= 400 or anonymous or outcome.method == "GET"
    if is_foreign(pattern):
        allowed = status in (403, 404, 405) or (anonymous and _is_sign_in(response))
        contract = CONTRACTS.get(pattern.prefix)
        if contract is not None and status == 200:
            allowed = allowed or contract in response.content.decode()
        if not allowed:
            problems.append(f"not refused: status {status}")
        refused = True
    contoso_changes = outcome.after.changes_since(outcome.before, slug="contoso")
    if contoso_changes:
        problems.append(f"changed contoso's rows: {contoso_changes}")
    changed = outcome.after.changes_since(outcome.before)
    if refused and changed:
        problems.append(f"changed rows: {changed}")
    if anonymous and not outcome.still_anonymous:
        problems.append("an anonymous visitor was signed in")
    let_in = not (_is_sign_in(response) or status == 405)
    if anonymous and pattern.urlconf in SIGNED_IN_URLCONFS and let_in:
        problems.append(f"an anonymous visitor was not sent to sign in: status {status}")
    return problems


def check_case(
    pattern: TenantPattern, outcome: Outcome, foreign: Foreign, northwind: Site
) -> list[str]:
    """What is wrong with one request's outcome (empty when nothing is)."""
    problems = _leaks(outcome, foreign, northwind) + _refusals(pattern, outcome)
    return [f"{outcome.visitor} {outcome.method}: {problem}" for problem in problems]


PATTERNS = tenant_patterns()


def _case(pattern: TenantPattern) -> Any:
    marks = []
    if pattern.route in FINDINGS:
        marks.append(pytest.mark.xfail(strict=True, reason=FINDINGS[pattern.route]))
    return pytest.param(pattern, id=pattern.route, marks=marks)


def test_every_parameter_of_every_tenant_url_is_filled() -> None:
    """A URL parameter the matrix cannot fill must be taught to FILLERS (with one of the
    other organisation's objects, or as shared), not skipped."""
    missing = {pattern.route: unfilled(pattern) for pattern in PATTERNS if unfilled(pattern)}
    assert not missing, f"teach FILLERS these parameters: {missing}"
    unnamed = [p.route for p in PATTERNS if p.parameters and p.name is None]
    assert not unnamed, f"name these URLs so that they can be reversed: {unnamed}"


def test_the_matrix_sees_every_kind_of_url() -> None:
    """The walk goes through the includes: the app's pages, allauth's and i18n's are all
    there, and the foreign ones are the app's and allauth's id-carrying URLs."""
    routes = {pattern.route for pattern in PATTERNS}
    assert {"users/<int:pk>/deactivate/", "store/refunds/<int:pk>/withdraw/"} <= routes
    assert {"accounts/login/", "i18n/setlang/", "favicon.ico"} <= routes
    foreign = {pattern.route for pattern in PATTERNS if is_foreign(pattern)}
    assert len(foreign) >= 12
    assert not any(route.startswith("admin") for route in routes)


@pytest.mark.parametrize("pattern", [_case(pattern) for pattern in PATTERNS])
def test_isolation_matrix(
    pattern: TenantPattern, northwind: Site, contoso: Site, foreign: Foreign
) -> None:
    assert not unfilled(pattern), f"teach FILLERS {unfilled(pattern)} of {pattern.route}"
    url = url_of(pattern, foreign)
    problems: list[str] = []
    for visitor in VISITORS:
        for method in ("GET", "POST"):
            with rolled_back():
                client = client_for(northwind, visitor)
                before = Snapshot.take(northwind, contoso)
                with exceptions_caught() as caught:
                    if method == "GET":
                        query = urlencode({"next": f"http://{contoso.host}/users/"})
                        response = client.get(f"{url}?{query}")
                        sent: tuple[str, ...] = ()
                    else:
                        data = form_data(foreign, contoso)
                        response = client.post(url, data)
                        sent = tuple(str(value) for value in data.values() if value)
                after = Snapshot.take(northwind, contoso)
                still_anonymous = "_auth_user_id" not in client.session
                outcome = Outcome(
                    visitor, method, response, caught, before, after, still_anonymous, sent
                )
                problems += check_case(pattern, outcome, foreign, northwind)
    assert not problems, f"{url}:\n" + "\n".join(problems)


def test_every_foreign_value_is_a_real_object_on_its_own_site(
    contoso: Site, foreign: Foreign
) -> None:
    """The control of the matrix: on contoso's own site, its primary contact reaches every
    URL the matrix fills with contoso's objects (a 404 on northwind's site is then
    isolation, not a stale id)."""
    problems = []
    for pattern in PATTERNS:
        if not is_foreign(pattern):
            continue
        url = url_of(pattern, foreign)
        # Links from emails are followed signed out (signing in would spend a reset link).
        visitor = "anonymous" if pattern.urlconf not in SIGNED_IN_URLCONFS else "primary"
        with rolled_back():  # signing in sets last_login, which a reset link is bound to
            client = client_for(contoso, visitor)
            response = client.get(url)
            if response.status_code == 405:  # an action: POST is how it is reached
                response = client.post(url, form_data(foreign, contoso))
        if response.status_code in (403, 404) or response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        elif pattern.prefix in CONTRACTS and CONTRACTS[pattern.prefix] in response.content.decode():
            problems.append(f"{url}: the link is not valid on its own site either")
    assert not problems, "\n".join(problems)


# --- The public site -------------------------------------------------------------------


def admin_paths() -> list[str]:
    """The admin's index, its sign-in, and every registered model's list and change
    pages, as the public site has them."""
    paths = [
        reverse("admin:index", urlconf=PUBLIC_URLCONF),
        reverse("admin:login", urlconf=PUBLIC_URLCONF),
    ]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info), urlconf=PUBLIC_URLCONF))
        paths.append(reverse("admin:{}_{}_change".format(*info), args=[1], urlconf=PUBLIC_URLCONF))
    return paths


def test_the_admin_is_not_found_on_an_organisations_host(northwind: Site, contoso: Site) -> None:
    paths = admin_paths()
    assert len(paths) > 10 and all(path.startswith("/admin/") for path in paths)
    problems = []
    for visitor in VISITORS:
        client = client_for(northwind, visitor)
        before = Snapshot.take(northwind, contoso)
        for path in paths:
            for response in (client.get(path), client.post(path, {"action": "delete_selected"})):
                if response.status_code != 404:
                    problems.append(f"{visitor} {path}: {response.status_code}")
        assert Snapshot.take(northwind, contoso).changes_since(before) == []
    assert not problems, "\n".join(problems)


def _admin_status(client: Client) -> tuple[bool, str]:
    """Whether the admin's index opened, and where the visitor was sent instead."""
    response = client.get("/admin/")
    if response.status_code == 200:
        return True, ""
    assert response.status_code == 302
    return False, urlsplit(response["Location"]).path


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_an_organisations_session_does_not_open_the_admin(northwind: Site, role: str) -> None:
    """The session cookie of northwind's site, sent to the public host, where a staff
    superuser has the same id as the organisation's user: sessions are per schema, so it
    is no session there."""
    user_id = northwind.user_ids[role]
    if not User.objects.filter(pk=user_id).exists():  # public schema: vendor staff
        StaffFactory.create(id=user_id, superuser=True)
    assert User.objects.get(pk=user_id).is_superuser
    organisation_client = signed_in(northwind, role)
    assert organisation_client.get("/").status_code == 200
    public = Client(HTTP_HOST=PUBLIC_HOST)
    public.cookies = organisation_client.cookies
    opened, sent_to = _admin_status(public)
    assert not opened
    assert sent_to in ("/admin/login/", SIGN_IN_PATH)
    # The control: the same staff user, signed in on the public site, does open it.
    staff = Client(HTTP_HOST=PUBLIC_HOST)
    staff.force_login(User.objects.get(pk=user_id))
    assert _admin_status(staff) == (True, "")


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_an_organisations_credentials_do_not_sign_in_on_the_public_site(
    northwind: Site, role: str
) -> None:
    public = Client(HTTP_HOST=PUBLIC_HOST)
    response = public.post(SIGN_IN_PATH, {"login": northwind.email(role), "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in public.session
    assert _admin_status(public)[0] is False
    # The control: the same credentials sign in on the organisation's own site.
    own = site_client(northwind)
    assert (
        own.post(SIGN_IN_PATH, {"login": northwind.email(role), "password": PASSWORD}).status_code
        == 302
    )


def test_a_staff_session_means_nothing_on_an_organisations_host(northwind: Site) -> None:
    staff_user = StaffFactory.create(superuser=True)
    staff = Client(HTTP_HOST=PUBLIC_HOST)
    staff.force_login(staff_user)
    assert _admin_status(staff) == (True, "")
    on_organisation = site_client(northwind)
    on_organisation.cookies = staff.cookies
    for path in ("/", "/users/", "/store/"):
        response = on_organisation.get(path)
        assert response.status_code == 302 and urlsplit(response["Location"]).path == SIGN_IN_PATH
    with schema_context(northwind.organisation.schema_name):
        assert not User.objects.filter(email=staff_user.email).exists()
