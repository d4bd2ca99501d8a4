"""Hostile input, generated with Hypothesis, for every form of an organisation's site
(the Store's included), the query parameters its pages read, the public site's sign-up
(its form and availability check: ``test_the_sign_up_refuses_hostile_input_cleanly``), and
every management command.

Values: numbers out of range (negative, huge, 2**63, non-numeric, floats, NaN, ``1e309``,
full-width and Arabic-Indic digits), NUL characters, strings of 10,000 characters,
arbitrary Unicode (zero-width and direction characters, emoji sequences, combining marks),
and the ids and addresses of the other organisation (contoso) next to northwind's own.

Forms (``FORMS``, one Hypothesis run each, ``EXAMPLES`` examples, on northwind's site as
the primary contact, or an anonymous visitor for the sign-in and reset forms); every
example runs in a savepoint rolled back afterwards:
    - never a 500, and no exception reaches Django's handler;
    - a NUL in a field or the query is answered 400 (``RefuseNulMiddleware``);
    - a refusal (4xx, a POST answered with the form again, or an error message, as with
      the redirect back of an expired form) changes no row anywhere, nor does a GET;
      contoso's rows never change (``Snapshot`` in ``tests/security/conftest.py``: both schemas'
      users, departments and email addresses, the public subscription tables, the
      organisations, their domains and schemas, and the queued jobs);
    - every department and user name northwind has afterwards shows a visible character.
    How a new form is picked up: ``test_every_form_of_the_site_is_fuzzed`` signs in,
    walks every page of the site (from the URL resolver, with northwind's own objects in
    the parameters), reads each ``<form>`` and fails for a form, or a field, that
    ``FORMS`` does not list. A field gets ``field_values``: what the form expects, mixed
    with hostile values (a field it does not know gets only hostile ones). Paths get
    northwind's ids, contoso's, numbers out of range and hostile text.

Commands (``command_arguments``, one Hypothesis run each, ``EXAMPLES`` examples, with
``call_command``): every command of the project's apps, listed from Django's registry
(``test_every_command_is_fuzzed`` fails for a new one). A command either succeeds or
raises ``CommandError`` with a one-line message and changes nothing; any other exception
(a traceback) fails. The commands that would run for good or seed demo data (``worker``,
``runserver``, ``migrate_organisations``, ``seed_demo``) get at least one bad argument in
every example.
A few cases go through ``manage.py`` in a process (``MANAGE_PY_CASES``), where argument
parsing and the exit code matter: no traceback, a non-zero exit code, a one-line message.

Edges, once each: ``OUT_OF_RANGE_CASES`` (the first and last days a date can be, seats
past 2**63, a NUL) in-process, and a far-future ``run_billing`` in a process with a time
limit (in this one it would run for minutes).

Examples: ``EXAMPLES`` (25 by default; ``SECURITY_FUZZ_EXAMPLES`` overrides) for each of the
23 form cases and the 11 commands: 850 examples, about 40 seconds; plus 9 edge cases and 7
``manage.py`` processes (about 15 seconds). Generation is derandomized (the suite's
Hypothesis profile) so that a run is reproducible and the strict xfails hold
(``HYPOTHESIS_PROFILE=random`` explores new examples; 300 per form and 200 per command
found nothing beyond the findings marked). No example database is written.
``--hypothesis-show-statistics`` shows the statuses reached.

Known findings xfail strictly, one case each (the reason says what is wrong); when one is
fixed its case passes, and its mark must go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command, get_commands
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import Department, User
from portal.idempotency import new_key
from subscriptions.models import FeedbackReason, Invoice, Subscription
from subscriptions.services import plan_changes, refunds, scheduled_changes
from tests.conftest import PASSWORD, Site, database_urls
from tests.security.conftest import Foreign, Snapshot, client_for, exceptions_caught, rolled_back
from tests.security.resolver import TENANT_URLCONF, tenant_patterns

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SECURITY_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = {"portal", "audit", "accounts", "subscriptions", "organisations"}

# --- Hostile values -----------------------------------------------------------------------

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u3164\u2800"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
COMBINING = "\u0300\u0301\u0336\u0489\u20dd"
EMOJI = ["😀", "👩\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "🇯🇵", "👍🏽"]
ODD_NUMBERS = [
    "-1",
    "0",
    "-0",
    "1.5",
    "1e3",
    "1e309",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    " 7 ",
    "３",  # full-width digit
    "٣",  # Arabic-Indic digit
    "1_000",
    "+5",
    "9" * 40,
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
]


def unicode_text() -> st.SearchStrategy[str]:
    odd = list(INVISIBLE + BIDI + COMBINING) + EMOJI + [" ", "a", "\t", "\n", "\x00"]
    return st.one_of(
        st.text(max_size=30),  # any code point but surrogates (NUL and controls included)
        st.lists(st.sampled_from(odd), min_size=1, max_size=12).map("".join),
    )


def long_text() -> st.SearchStrategy[str]:
    return st.sampled_from(["a", "é", "😀", "\u200b", "x\u0301"]).map(lambda unit: unit * 10_000)


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(ODD_NUMBERS),
    )


def hostile() -> st.SearchStrategy[str]:
    return st.one_of(unicode_text(), long_text(), numbers())


def carries_nul(data: dict[str, Any]) -> bool:
    return any(
        "\x00" in key or any("\x00" in str(value) for value in _values(given_value))
        for key, given_value in data.items()
    )


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# --- Northwind's own objects --------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Northwind's objects (what its forms are about) and contoso's (``foreign``)."""

    user_ids: tuple[int, ...]
    department_ids: tuple[int, ...]
    plan_change_ids: tuple[int, ...]
    refund_ids: tuple[int, ...]
    invoice_numbers: tuple[str, ...]
    emails: tuple[str, ...]
    foreign: Foreign

    def own_ids(self, kind: str) -> tuple[int, ...]:
        return {
            "users": self.user_ids,
            "departments": self.department_ids,
            "changes": self.plan_change_ids,
            "refunds": self.refund_ids,
        }[kind]

    def ids(self, kind: str) -> list[str]:
        """Northwind's ids of ``kind``, and contoso's."""
        own = self.own_ids(kind)
        theirs = {
            "users": self.foreign.user_id,
            "departments": self.foreign.department_id,
            "changes": self.foreign.plan_change_id,
            "refunds": self.foreign.refund_id,
        }[kind]
        return [str(pk) for pk in (*own, theirs)]


@pytest.fixture
def targets(northwind: Site, foreign: Foreign) -> Targets:
    """Northwind on Professional (room for departments and users) after a downgrade with
    a pending refund request, then fewer seats (a refund quote, no request), and a move
    to Standard scheduled for the end of the period: every form of the Store is on its
    pages."""
    organisation = northwind.organisation
    period_start = Subscription.objects.get(organisation=organisation).period_start
    downgrade = plan_changes.change_plan(
        organisation, "professional", acting_user=None, today=period_start
    )
    refund = refunds.request_refund(downgrade, acting_user=northwind.user("primary"))
    fewer_seats = plan_changes.change_plan(
        organisation, "professional", acting_user=None, seats=8, today=period_start
    )
    scheduled_changes.schedule_change(
        organisation, "standard", acting_user=None, seats=8, today=period_start
    )
    assert fewer_seats.refund_quote > 0
    with schema_context(organisation.schema_name):
        departments = tuple(Department.objects.values_list("pk", flat=True))
        emails = tuple(User.objects.values_list("email", flat=True))
    invoices = Invoice.objects.filter(organisation=organisation)
    return Targets(
        user_ids=tuple(northwind.user_ids.values()),
        department_ids=departments,
        plan_change_ids=(downgrade.pk, fewer_seats.pk),
        refund_ids=(refund.pk,),
        invoice_numbers=tuple(invoices.values_list("number", flat=True)),
        emails=emails,
        foreign=foreign,
    )


# --- Forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormCase:
    url_name: str
    method: str
    path: str  # with {pk} (an id of ``kind``) or {plan_code}
    fields: tuple[str, ...]
    kind: str = ""  # what {pk} is an id of
    visitor: str = "primary"

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url_name}"


IDEMPOTENT = ("idempotency_key",)
FORMS = [
    FormCase("user_list", "get", "/users/", ("page",)),
    FormCase(
        "user_add",
        "post",
        "/users/add/",
        ("email", "full_name", "is_administrator", "is_super_admin"),
    ),
    FormCase(
        "user_detail", "post", "/users/{pk}/", ("is_administrator", "is_super_admin"), "users"
    ),
    FormCase("user_deactivate", "post", "/users/{pk}/deactivate/", (), "users"),
    FormCase("user_reactivate", "post", "/users/{pk}/reactivate/", (), "users"),
    FormCase("user_make_primary_contact", "post", "/users/{pk}/primary-contact/", (), "users"),
    FormCase("department_list", "post", "/departments/", ("name",)),
    FormCase("department_rename", "post", "/departments/{pk}/rename/", ("name",), "departments"),
    FormCase("store_history", "get", "/store/history/", ("page",)),
    FormCase("store_billing", "get", "/store/billing/", ("page",)),
    FormCase("store_confirm", "get", "/store/plans/{plan_code}/", ("seats", "cycle")),
    FormCase(
        "store_confirm",
        "post",
        "/store/plans/{plan_code}/",
        ("seats", "cycle", "when", "keep", "promise", "authenticated_payment", *IDEMPOTENT),
    ),
    FormCase("store_cancel_scheduled", "post", "/store/scheduled/cancel/", IDEMPOTENT),
    FormCase("store_close", "post", "/store/close/", ("when", "address", *IDEMPOTENT)),
    FormCase("store_cancel_closure", "post", "/store/close/cancel/", IDEMPOTENT),
    FormCase("export_request", "post", "/export/", IDEMPOTENT),
    FormCase(
        "store_billing_details",
        "post",
        "/store/billing-details/",
        ("addressee", "attention", "postal_address", "emails", "registration_number", *IDEMPOTENT),
    ),
    FormCase(
        "store_feedback",
        "post",
        "/store/changes/{pk}/feedback/",
        ("reason", "text", *IDEMPOTENT),
        "changes",
    ),
    FormCase("store_request_refund", "post", "/store/changes/{pk}/refund/", IDEMPOTENT, "changes"),
    FormCase(
        "store_withdraw_refund", "post", "/store/refunds/{pk}/withdraw/", IDEMPOTENT, "refunds"
    ),
    FormCase("set_language", "post", "/i18n/setlang/", ("language", "next")),
    FormCase(
        "account_login",
        "post",
        "/accounts/login/",
        ("login", "password", "remember"),
        visitor="anonymous",
    ),
    FormCase(
        "account_reset_password",
        "post",
        "/accounts/password/reset/",
        ("email",),
        visitor="anonymous",
    ),
    FormCase(
        "account_email",
        "post",
        "/accounts/email/",
        ("email", "action_add", "action_primary", "action_remove", "action_send"),
    ),
    FormCase(
        "account_change_password",
        "post",
        "/accounts/password/change/",
        ("oldpassword", "password1", "password2"),
    ),
    FormCase("account_reauthenticate", "post", "/accounts/reauthenticate/", ("password",)),
    FormCase("account_logout", "post", "/accounts/logout/", ()),
]
PLAN_CODES = ["free", "standard", "professional", "enterprise"]


def field_values(field: str, targets: Targets) -> st.SearchStrategy[Any]:
    """The strategy for one field: values the form expects, mixed with hostile ones."""
    foreign = targets.foreign
    addresses = st.one_of(
        st.emails(),
        st.sampled_from([*targets.emails, foreign.user_email, "new.person@northwind.test"]),
    )
    flag = st.sampled_from(["on", ""])
    expected: dict[str, st.SearchStrategy[Any]] = {
        "email": addresses,
        "login": addresses,
        "full_name": st.just("Fuzz Person"),
        "name": st.just("Fuzz department"),
        "text": st.just("Thanks"),
        "is_administrator": flag,
        "is_super_admin": flag,
        "remember": flag,
        "action_add": flag,
        "action_primary": flag,
        "action_remove": flag,
        "action_send": flag,
        "seats": st.integers(min_value=-3, max_value=60).map(str),
        "page": st.integers(min_value=-3, max_value=5).map(str),
        "cycle": st.sampled_from(["monthly", "annual"]),
        "when": st.sampled_from(["now", "period_end"]),
        "address": st.sampled_from(["northwind", "NORTHWIND", "contoso", ""]),
        "reason": st.sampled_from(FeedbackReason.values),
        "language": st.sampled_from(["en", "ja"]),
        "next": st.sampled_from(
            [
                "/",
                "/users/",
                f"http://{foreign.host}/users/",
                "//evil.example/",
                "javascript:alert(1)",
                "http://localhost/admin/",
            ]
        ),
        "idempotency_key": st.builds(new_key),
        "password": st.sampled_from([PASSWORD, "not-the-password"]),
        "oldpassword": st.sampled_from([PASSWORD, "not-the-password"]),
        "password1": st.sampled_from(["a-new-long-password-77", "short"]),
        "password2": st.sampled_from(["a-new-long-password-77", "short"]),
    }
    if field == "keep":
        user_ids = st.sampled_from(targets.ids("users"))
        return st.lists(st.one_of(user_ids, user_ids, hostile()), max_size=5)
    if field in expected:
        return st.one_of(expected[field], expected[field], hostile())
    return hostile()


def path_values(case: FormCase, targets: Targets) -> st.SearchStrategy[str]:
    """The URL, its parameter northwind's, contoso's, or out of range."""
    if "{pk}" in case.path:
        own = [str(pk) for pk in targets.own_ids(case.kind)]
        value = st.one_of(
            st.sampled_from(own),
            st.sampled_from(own),
            st.sampled_from(own),
            st.sampled_from(targets.ids(case.kind)),  # contoso's among them
            st.integers(min_value=0, max_value=2**70).map(str),
            hostile().map(lambda text: quote(text, safe="")),
        )
        return value.map(lambda pk: case.path.format(pk=pk))
    if "{plan_code}" in case.path:
        value = st.one_of(
            st.sampled_from(PLAN_CODES),
            st.sampled_from(PLAN_CODES),
            hostile().map(lambda text: quote(text, safe="")),
        )
        return value.map(lambda code: case.path.format(plan_code=code))
    return st.just(case.path)


def _shows(name: str) -> bool:
    """At least one character that draws something, and no control character (the rule of
    names, written here independently of ``accounts/names.py``)."""
    blank = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
    categories = [(c, unicodedata.category(c)) for c in name]
    drawn = [
        c
        for c, kind in categories
        if c not in blank and (kind[0] in "LNPS" or kind in ("Mc", "Co"))
    ]
    return bool(drawn) and not any(kind == "Cc" for _, kind in categories)


def invisible_names(site: Site) -> list[str]:
    with schema_context(site.organisation.schema_name):
        names = list(Department.objects.values_list("name", flat=True))
        names += [name for name in User.objects.values_list("full_name", flat=True) if name]
    return [name for name in names if not _shows(name)]


def _refused(method: str, response: Any) -> bool:
    """Whether the site said no: a 4xx, the form again, or an error message (with the
    redirect back of an expired form, or of a Store action a domain error refused)."""
    status = response.status_code
    if status >= 400 or (method == "post" and status == 200):
        return True
    errors = [m for m in get_messages(response.wsgi_request) if m.level >= message_levels.ERROR]
    return bool(errors)


@pytest.mark.parametrize("case", FORMS, ids=[case.id for case in FORMS])
@FUZZ
@given(data=st.data())
def test_a_form_refuses_hostile_input_cleanly(
    case: FormCase, northwind: Site, contoso: Site, targets: Targets, data: st.DataObject
) -> None:
    path = data.draw(path_values(case, targets), label="path")
    fields = {
        field: data.draw(field_values(field, targets), label=field)
        for field in case.fields
        if data.draw(st.integers(0, 9), label=f"send {field}") > 0  # sometimes left out
    }
    with rolled_back():
        client = client_for(northwind, case.visitor)
        before = Snapshot.take(northwind, contoso)
        with exceptions_caught() as caught:
            send = client.get if case.method == "get" else client.post
            response = send(path, fields)
        after = Snapshot.take(northwind, contoso)
        event(f"status {response.status_code}")  # --hypothesis-show-statistics
        assert response.status_code < 500 and not caught, (response.status_code, caught)
        if carries_nul(fields):
            event("a NUL in a field")
            assert response.status_code == 400
        if case.method == "get" or _refused(case.method, response):
            assert after.changes_since(before) == []
        assert after.changes_since(before, slug="contoso") == []
        assert invisible_names(northwind) == []


class _Forms(HTMLParser):
    """The forms of a page: (action, method, field names)."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.found: list[tuple[str, str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            action = attributes.get("action") or self.page_path
            method = (attributes.get("method") or "get").lower()
            self.found.append((urlsplit(action).path, method, set()))
        elif tag in ("input", "select", "textarea", "button") and self.found:
            name = attributes.get("name")
            if name and name != "csrfmiddlewaretoken":
                self.found[-1][2].add(name)


def _own_urls(targets: Targets) -> list[tuple[str, str]]:
    """Every page of the site with northwind's own objects in its parameters, for the
    primary contact and an anonymous visitor: (visitor, path)."""
    own = {
        ("users/", "pk"): [str(pk) for pk in targets.user_ids],
        ("departments/", "pk"): [str(pk) for pk in targets.department_ids],
        ("store/changes/", "pk"): [str(pk) for pk in targets.plan_change_ids],
        ("store/refunds/", "pk"): [str(pk) for pk in targets.refund_ids],
        ("store/invoices/", "number"): list(targets.invoice_numbers),
        ("store/plans/", "plan_code"): PLAN_CODES,
    }
    urls = []
    for pattern in tenant_patterns():
        if pattern.name is None:
            continue
        if len(pattern.parameters) > 1 or any(
            (pattern.prefix, name) not in own for name in pattern.parameters
        ):
            continue  # links from emails (keys), covered by the isolation matrix
        if not pattern.parameters:
            urls += [("primary", "/" + pattern.route), ("anonymous", "/" + pattern.route)]
            continue
        [name] = pattern.parameters
        for value in own[(pattern.prefix, name)]:
            path = reverse(pattern.name, kwargs={name: value}, urlconf=TENANT_URLCONF)
            urls.append(("primary", path))
    return urls


def test_every_form_of_the_site_is_fuzzed(northwind: Site, targets: Targets) -> None:
    known = {(case.url_name, case.method): set(case.fields) for case in FORMS}
    clients = {visitor: client_for(northwind, visitor) for visitor in ("primary", "anonymous")}
    seen: dict[tuple[str, str], set[str]] = {}
    for visitor, path in _own_urls(targets):
        response = clients[visitor].get(path)
        if response.status_code != 200:
            continue
        parser = _Forms(path)
        parser.feed(response.content.decode())
        for action, method, fields in parser.found:
            try:
                name = resolve(action, urlconf=TENANT_URLCONF).url_name or action
            except Resolver404:
                name = action
            seen.setdefault((name, method), set()).update(fields)
    assert len(seen) >= 15, seen  # the walk did reach the pages
    missing = {form: fields for form, fields in seen.items() if form not in known}
    assert not missing, f"add these forms to FORMS: {missing}"
    new_fields = {
        form: fields - known[form] for form, fields in seen.items() if fields - known[form]
    }
    assert not new_fields, f"add these fields to FORMS: {new_fields}"


# --- The public site's sign-up -------------------------------------------------------------

SIGN_UP_FIELDS = ("organisation_name", "address", "full_name", "email", "password", "check")


def sign_up_values(field: str, northwind: Site) -> st.SearchStrategy[str]:
    """What the sign-up form expects (an address free or northwind's), or hostile text."""
    expected = {
        "organisation_name": st.sampled_from(["Sakura Support", "さくら"]),
        "address": st.sampled_from(["sakura", "sakura-2", northwind.organisation.slug, "-x-"]),
        "full_name": st.sampled_from(["Hana Sato", "佐藤 花"]),
        "email": st.sampled_from(["hana@sakura.test", northwind.user("primary").email]),
        "password": st.sampled_from([PASSWORD, PASSWORD, "short"]),
        "check": st.just("1"),
    }
    return st.one_of(*[expected[field]] * 4, hostile())


@FUZZ
@given(data=st.data())
def test_the_sign_up_refuses_hostile_input_cleanly(
    northwind: Site, contoso: Site, data: st.DataObject
) -> None:
    """The public site's sign-up form and its availability check: never a 500, a NUL is a
    400, a refusal changes nothing, and no organisation is created or touched (that waits
    for the emailed link)."""
    fields = {
        field: data.draw(sign_up_values(field, northwind), label=field)
        for field in SIGN_UP_FIELDS
        if data.draw(st.integers(0, 9), label=f"send {field}") > (8 if field == "check" else 0)
    }
    fields["idempotency_key"] = new_key()
    with rolled_back():
        client = Client(HTTP_HOST="localhost")
        before = Snapshot.take(northwind, contoso)
        with exceptions_caught() as caught:
            response = client.post("/signup/", fields)
            answer = client.get("/signup/address/", {"address": fields.get("address", "")})
        after = Snapshot.take(northwind, contoso)
        event(f"status {response.status_code}")
        assert response.status_code < 500 and answer.status_code < 500, caught
        assert not caught, caught
        if carries_nul(fields):
            assert response.status_code == 400
        changed = after.changes_since(before)
        if response.status_code == 302:  # started: the sign-up and its email, nothing else
            assert all("portal_signup" in c or "procrastinate_jobs" in c for c in changed)
        else:  # refused: nothing at all
            assert changed == [], changed


# --- Management commands -------------------------------------------------------------------


def project_commands() -> list[str]:
    return sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)


def shell_text() -> st.SearchStrategy[str]:
    """What a command line can carry: anything but a NUL (a process's arguments are C
    strings); odd bytes are covered by ``MANAGE_PY_CASES``."""
    return hostile().map(lambda text: text.replace("\x00", ""))


def option(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``--name=value`` (so that a value may start with a dash), or nothing."""
    return st.one_of(st.just([]), values.map(lambda value: [f"--{name}={value}"]))


def required(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``--name=value`` of a required option: left out once in a while."""
    given_option = values.map(lambda value: [f"--{name}={value}"])
    return st.one_of(given_option, given_option, given_option, st.just([]))


def flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [], [], [f"--{name}"]])


def positional(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """One positional argument; not one that argparse would read as an option (``-h``
    prints the help and exits, as asked), but negative numbers are kept."""
    return values.filter(lambda value: not value.startswith("-") or value[1:].isdigit()).map(
        lambda value: [value]
    )


def unknown_option() -> st.SearchStrategy[list[str]]:
    return shell_text().map(lambda value: [f"--no-such-option={value}"])


def _either(choices: list[str]) -> st.SearchStrategy[str]:
    """Mostly one of ``choices``, else hostile text."""
    choice = st.sampled_from(choices)
    return st.one_of(choice, choice, choice, shell_text())


def _days(*, years: int = 4, extremes: bool = True) -> st.SearchStrategy[str]:
    """Days as a command reads them: real ones within ``years`` of today, impossible or
    misspelt ones, hostile text, and (``extremes``) the first and last days a date can be
    (for the commands that book a period per month up to a day, those are explicit cases
    in ``OUT_OF_RANGE_CASES``: the fuzz would run for minutes)."""
    today = date.today()
    odd = ["2026-02-29", "2026-13-01", "2026-02-30", "20260101", "2026-1-1", "today", "-1"]
    if extremes:
        odd += ["0001-01-01", "9999-12-31"]
    return st.one_of(
        st.dates(
            min_value=today - timedelta(days=365 * years),
            max_value=today + timedelta(days=365 * years),
        ).map(date.isoformat),
        st.sampled_from(odd),
        shell_text(),
    )


def command_arguments(command: str, targets: Targets) -> st.SearchStrategy[list[str]]:
    """The arguments of ``command``: its positionals and options (each given or not) with
    plausible and hostile values. A command missing here fails
    ``test_every_command_is_fuzzed``."""
    foreign = targets.foreign
    slugs = _either(["northwind", "contoso", "no-such-organisation"])
    formats = _either(["table", "csv", "json", "jsonl"])
    plans = _either(PLAN_CODES)
    seats = st.one_of(st.integers(min_value=-2, max_value=12).map(str), numbers())
    known = st.sampled_from([*targets.emails, foreign.user_email])
    emails = st.one_of(known, st.emails(), st.emails(), shell_text())
    refund_ids = st.one_of(
        st.sampled_from([str(foreign.refund_id), *map(str, targets.refund_ids)]), numbers()
    )
    fresh = st.integers(min_value=1, max_value=999).map(lambda n: f"fuzz-{n}")
    new_slugs = st.one_of(fresh, fresh, slugs, shell_text())
    parts: dict[str, list[st.SearchStrategy[list[str]]]] = {
        "audit": [option("org", slugs), option("since", _days()), option("format", formats)],
        "change_plan": [
            positional(slugs),
            st.one_of(st.just([]), positional(plans)),
            option("cycle", _either(["monthly", "annual"])),
            option("seats", seats),
            st.lists(emails, max_size=3).map(lambda found: [f"--keep-agent={e}" for e in found]),
            flag("at-period-end"),
            flag("cancel-scheduled"),
            flag("dry-run"),
        ],
        "create_organisation": [
            required("name", st.one_of(st.just("Fuzz KK"), shell_text())),
            required("slug", new_slugs),
            required("primary-contact", emails),
            option("primary-contact-name", shell_text()),
            option("plan", plans),
            option("seats", seats),
            option("cycle", _either(["monthly", "annual"])),
            option("currency", _either(["JPY", "USD"])),
            option("period-start", _days(years=30, extremes=False)),
        ],
        "close_organisation": [
            positional(slugs),
            st.sampled_from([[], ["--now"], ["--cancel"], ["--now", "--cancel"]]),
        ],
        "delete_organisation": [positional(slugs), flag("force"), option("reason", shell_text())],
        "export_organisation": [
            positional(slugs),
            # Never a relative path: a file would be written in the project.
            required(
                "to",
                st.one_of(
                    st.just("/tmp/fuzz-export.zip"),
                    st.just("/tmp"),
                    shell_text().map(lambda text: "/nonexistent/" + text),
                ),
            ),
        ],
        "invoices": [required("org", slugs), option("format", formats)],
        "ledger": [option("org", slugs), option("format", formats)],
        "refunds": [
            st.one_of(
                st.tuples(
                    st.just(["list"]),
                    option("status", _either(["pending", "approved", "refunded", "rejected"])),
                    option("format", formats),
                ).map(lambda found: [a for part in found for a in part]),
                st.tuples(
                    st.sampled_from([["approve"], ["reject"], ["mark-refunded"]]),
                    positional(refund_ids),
                    option("note", shell_text()),
                    option("reference", shell_text()),
                ).map(lambda found: [a for part in found for a in part]),
                positional(shell_text()),
            )
        ],
        "run_billing": [option("today", _days(years=1, extremes=False))],
        # Without the provider (the suite's settings) these refuse, saying why.
        "reconcile_payments": [option("org", slugs)],
        "test_card": [
            required("org", slugs),
            required("number", st.one_of(st.just("4242424242424242"), shell_text())),
            option("expires", st.one_of(st.just("12/2034"), shell_text())),
        ],
        "clock": [
            st.one_of(
                st.tuples(st.just(["show"]), option("org", slugs)).map(
                    lambda found: [a for part in found for a in part]
                ),
                st.tuples(
                    st.just(["advance"]),
                    st.one_of(
                        option("org", slugs), st.just(["--all"]), st.just(["--all", "--org=x"])
                    ),
                    option("to", _days(years=4, extremes=False)),
                ).map(lambda found: [a for part in found for a in part]),
                positional(shell_text()),
            )
        ],
        "subscriptions": [option("plan", plans), option("format", formats)],
        # These would run for good, migrate or seed: every example has a bad argument.
        "migrate_organisations": [
            option("parallel", numbers()),
            flag("organisations-only"),
            unknown_option(),
        ],
        "seed_demo": [unknown_option(), st.one_of(st.just([]), positional(shell_text()))],
        "thirdparty_messages": [unknown_option()],  # it writes locale/thirdparty/
        "worker": [
            option("concurrency", numbers()),
            option("queues", shell_text()),
            unknown_option(),
        ],
        "runserver": [
            st.one_of(st.just([]), positional(shell_text())),
            flag("noreload"),
            unknown_option(),
        ],
    }
    if command not in parts:
        return st.nothing()
    return st.tuples(*parts[command]).map(lambda found: [a for part in found for a in part])


ALWAYS_REFUSED = {
    "migrate_organisations",
    "runserver",
    "seed_demo",
    "thirdparty_messages",
    "worker",
}


def _one_line(message: str, arguments: list[str]) -> bool:
    """A message of one line, apart from line breaks of the arguments it repeats."""
    for argument in sorted(arguments, key=len, reverse=True):
        message = message.replace(argument, "")
        if "=" in argument:
            message = message.replace(argument.split("=", 1)[1], "")
    return bool(message.strip()) and "\n" not in message.strip()


def test_every_command_is_fuzzed(targets: Targets) -> None:
    commands = project_commands()
    assert {"change_plan", "create_organisation", "refunds"} <= set(commands)
    unknown = [name for name in commands if command_arguments(name, targets).is_empty]
    assert not unknown, f"teach command_arguments the arguments of {unknown}"


@pytest.mark.parametrize("command", project_commands())
@FUZZ
@given(data=st.data())
def test_a_command_refuses_bad_arguments_cleanly(
    command: str, northwind: Site, contoso: Site, targets: Targets, data: st.DataObject
) -> None:
    arguments = data.draw(command_arguments(command, targets), label="arguments")
    out, err = StringIO(), StringIO()
    with rolled_back():
        before = Snapshot.take(northwind, contoso)
        try:
            call_command(command, *arguments, stdout=out, stderr=err)
        except CommandError as error:
            message = str(error)
            event("refused")
        else:
            event("done")
            message = ""
            assert command not in ALWAYS_REFUSED, f"{command} ran with {arguments}"
        after = Snapshot.take(northwind, contoso)
        assert "Traceback" not in out.getvalue() + err.getvalue()
        if message:
            assert _one_line(message, arguments), message
            assert after.changes_since(before) == []


# Arguments at the edges, each once: (arguments, refused or done, the finding while it
# stands). Either way nothing changes: these days are before any renewal or find nothing.
REFUSED, DONE = "refused", "done"
OUT_OF_RANGE_CASES: list[tuple[list[str], str, str]] = [
    (["audit", "--since=0001-01-01"], DONE, ""),
    (["audit", "--since=9999-12-31"], DONE, ""),
    (["run_billing", "--today=0001-01-01"], DONE, ""),
    (["change_plan", "northwind", "professional", f"--seats={2**70}"], REFUSED, ""),
    (["change_plan", "northwind", "professional", "--seats=-1"], REFUSED, ""),
    (
        [
            "create_organisation",
            "--name=Edge",
            "--slug=edge",
            "--primary-contact=a@b.test",
            f"--seats={2**63}",
        ],
        REFUSED,
        "",
    ),
    (
        [
            "create_organisation",
            "--name=Edge",
            "--slug=edge",
            "--primary-contact=a@b.test",
            "--period-start=9999-12-31",
        ],
        REFUSED,
        "",
    ),
    (
        [
            "create_organisation",
            "--name=Edge",
            "--slug=edge",
            "--primary-contact=a@b.test",
            "--period-start=0001-01-01",
        ],
        REFUSED,
        "",
    ),
    (
        ["change_plan", "north\x00wind", "professional"],
        REFUSED,
        "",
    ),
]


def _edge_case(arguments: list[str], outcome: str, finding: str) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=finding)] if finding else []
    name = " ".join(arguments).replace("\x00", "\\x00")
    return pytest.param(arguments, outcome, marks=marks, id=name)


@pytest.mark.parametrize(
    ("arguments", "outcome"), [_edge_case(*case) for case in OUT_OF_RANGE_CASES]
)
def test_a_command_answers_an_argument_at_the_edge_cleanly(
    northwind: Site, contoso: Site, arguments: list[str], outcome: str
) -> None:
    before = Snapshot.take(northwind, contoso)
    out = StringIO()
    if outcome == REFUSED:
        with pytest.raises(CommandError) as refusal:
            call_command(*arguments, stdout=out, stderr=out)
        assert _one_line(str(refusal.value), arguments), str(refusal.value)
    else:
        call_command(*arguments, stdout=out, stderr=out)
    assert "Traceback" not in out.getvalue()
    assert Snapshot.take(northwind, contoso).changes_since(before) == []


# --- manage.py in a process -----------------------------------------------------------------


def _manage(*arguments: str | bytes, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "PORTAL_", "REDIS_URL"))
    }
    variables.update(database_urls())  # this run's database, as the app role (a socket too)
    variables["DJANGO_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=variables,
        capture_output=True,
        check=False,
        timeout=timeout,
    )


# (arguments, exit code, the finding while it stands): a parse error exits 2 with the
# usage, a CommandError 1.
MANAGE_PY_CASES: list[tuple[list[str | bytes], int, str]] = [
    (["refunds", "approve", "not-a-number"], 2, ""),
    (["change_plan", "northwind", "professional", "--seats", "1e3"], 2, ""),
    (["run_billing", "--today", "2026-02-30"], 2, ""),
    (["change_plan", "no-such-organisation", "professional"], 1, ""),
    (["change_plan", b"\xff\xfe", "professional"], 1, ""),
    (["audit", "--since", "yesterday"], 1, ""),
    (["create_organisation", "--name=X", "--slug=Bad Slug", "--primary-contact=a@b.test"], 1, ""),
]


def _manage_case(arguments: list[str | bytes], exit_code: int, finding: str) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=finding)] if finding else []
    name = " ".join(a if isinstance(a, str) else repr(a) for a in arguments)
    return pytest.param(arguments, exit_code, marks=marks, id=name)


@pytest.mark.parametrize(
    ("arguments", "exit_code"), [_manage_case(*case) for case in MANAGE_PY_CASES]
)
def test_manage_py_answers_a_bad_argument_with_one_line(
    northwind: Site, contoso: Site, arguments: list[str | bytes], exit_code: int
) -> None:
    before = Snapshot.take(northwind, contoso)
    result = _manage(*arguments)
    errors = result.stderr.decode(errors="replace")
    assert "Traceback" not in errors
    assert result.returncode == exit_code, errors
    lines = errors.strip().splitlines()
    if exit_code == 1:
        assert len(lines) == 1 and lines[0].startswith("CommandError: "), errors
    else:  # argparse: the usage, then one line that says what is wrong
        assert lines[-1].startswith("manage.py ") and ": error: " in lines[-1], errors
    assert Snapshot.take(northwind, contoso).changes_since(before) == []


def test_run_billing_refuses_a_day_centuries_ahead(northwind: Site, contoso: Site) -> None:
    """In a process with a time limit: were it in this one, it would run for minutes. A
    process stopped before its commit changes nothing."""
    before = Snapshot.take(northwind, contoso)
    try:
        result = _manage("run_billing", "--today", "9999-12-31", timeout=8)
    except subprocess.TimeoutExpired:
        pytest.fail("still booking periods after 8 seconds")
    finally:
        assert Snapshot.take(northwind, contoso).changes_since(before) == []
    errors = result.stderr.decode(errors="replace").strip().splitlines()
    # Refused while the arguments are read: argparse's usage, then what is wrong.
    assert result.returncode == 2, errors
    assert errors[-1].startswith("manage.py run_billing: error: argument --today: "), errors
    assert "is after today" in errors[-1] and "books only periods that have begun" in errors[-1]
