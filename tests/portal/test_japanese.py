"""Japanese that reads as written by a Japanese company (issue "The details people notice"):
no half-width space beside a Japanese character (「2027年1月7日に スタンダード への」), no ASCII
comma, colon or parenthesis inside Japanese text, one word per concept, and avatars that
take a Japanese name's family name. Checked on every message of the catalogue, and on the
pages that assemble Japanese from pieces (an invoice's lines)."""

from __future__ import annotations

import re

import polib
import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.test import Client
from django.utils import translation

from accounts.selectors import initials
from subscriptions.tasks import queue_billing_catch_up
from tests.conftest import signed_in
from tests.factories import StaffFactory
from tests.portal.test_translations import LOCALE

JAPANESE = "\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e"
J = f"[{JAPANESE}]"
# What Japanese text must not hold, and why.
FAULTS = {
    "a half-width space beside a Japanese character": re.compile(rf"{J} | {J}"),
    "an ASCII comma after a Japanese character": re.compile(rf"{J},"),
    "an ASCII colon after a Japanese character": re.compile(rf"{J}:"),
    "ASCII parentheses beside Japanese": re.compile(rf"{J}\(|\){J}"),
}
# One word per concept: what the product says, and what it must not say instead.
TERMS = {
    "部署": "部門",
    "フリープラン": "無料プラン",
    "税別": "税抜",
    "支払いサイクル": "請求サイクル",
}


def faults(text: str) -> list[str]:
    """What is wrong with a piece of Japanese text (empty when nothing)."""
    found = [name for name, pattern in FAULTS.items() if pattern.search(text)]
    found += [f"「{wrong}」 for 「{right}」" for wrong, right in TERMS.items() if wrong in text]
    return found


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("2027年1月7日 に スタンダード への変更を予約", True),
        ("プロフェッショナル, 8シート, 年払い", True),
        ("請求額: ¥1,100", True),
        ("小文字 (a-z)", True),
        ("部署の数", True),
        ("2027年1月7日にスタンダードへの変更を予約", False),
        ("プロフェッショナル、8シート、年払い", False),
        ("¥1,100（税込）", False),
        ("カード 4242 4242 4242 4242", True),
        ("カード4242 4242 4242 4242", False),
    ],
)
def test_the_check_finds_what_a_japanese_reader_notices(text: str, wrong: bool) -> None:
    assert bool(faults(text)) is wrong


def test_every_japanese_message_reads_as_japanese() -> None:
    catalogue = polib.pofile(str(LOCALE / "django.po"))
    found = {
        entry.msgid: faults(text)
        for entry in catalogue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
        if faults(text)
    }
    assert found == {}


def test_withdrawn_reads_as_a_state() -> None:
    catalogue = polib.pofile(str(LOCALE / "django.po"))
    [withdrawn] = [entry for entry in catalogue if entry.msgid == "Withdrawn"]
    assert withdrawn.msgstr == "取り下げ済み"


class Person:
    def __init__(self, full_name: str, email: str = "someone@example.test") -> None:
        self.full_name, self.email = full_name, email


@pytest.mark.parametrize(
    ("name", "shown"),
    [("佐藤 花子", "佐"), ("佐藤花子", "佐"), ("Ayako Sato", "AS"), ("ken", "K"), ("", "S")],
)
def test_avatar_initials_take_a_japanese_family_name(name: str, shown: str) -> None:
    assert initials(Person(name)) == shown


# Words a Japanese page may show in Latin letters: names and codes, not sentences.
LATIN_ALLOWED = {"ID", "URL", "CSV", "JSON", "JPY", "USD", "IP", "PDF"}
# The catalogue's feature names that are products' own (as Zoho Desk writes them in Japanese).
LATIN_ALLOWED |= {"SLA", "WEBHOOK", "ZIA", "API"}
BACK_OFFICE = [
    "/admin/",
    "/admin/portal/organisation/",
    "/admin/portal/organisation/{organisation}/change/",
    "/admin/subscriptions/subscription/",
    "/admin/subscriptions/planchange/",
    "/admin/subscriptions/ledgerline/",
    "/admin/subscriptions/invoice/",
    "/admin/subscriptions/refundrequest/",
    "/admin/audit/auditevent/",
    "/admin/organisations/deletion/",
    "/admin/procrastinate/procrastinatejob/",
]


def english_words(text: str) -> set[str]:
    """The Latin words of a Japanese page's text, but for names and codes."""
    text = re.sub(r"\S+@\S+|https?://\S+|\b(?:INV|RET)-\d{4}-\d+", " ", text)
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    return {word for word in words if word.upper() not in LATIN_ALLOWED}


def _english_words(html: str) -> set[str]:
    """The Latin words of a page's headings, column headers and its site header."""
    parts = re.findall(r"<(?:th|h1|h2|caption)[^>]*>(.*?)</(?:th|h1|h2|caption)>", html, re.S)
    parts += re.findall(r'<div id="site-name">(.*?)</div>', html, re.S)
    return english_words(" ".join(re.sub(r"<[^>]+>", " ", part) for part in parts))


@pytest.mark.django_db
def test_the_back_office_in_japanese_leaves_no_english_in_its_headings(northwind) -> None:
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(StaffFactory.create(is_superuser=True))
    found = {}
    for url in BACK_OFFICE:
        page = client.get(url.format(organisation=northwind.organisation.pk))
        assert page.status_code == 200, url
        html = page.content.decode()
        # The organisations' own names are theirs, not the page's words.
        html = html.replace(northwind.organisation.name, "").replace("Contoso Inc.", "")
        if words := _english_words(html):
            found[url] = sorted(words)
    assert found == {}


STORE = [
    "/store/",
    "/store/plans/",
    "/store/plans/professional/",
    "/store/plans/enterprise/?cycle=annual",
    "/store/billing-details/",
    "/store/history/",
    "/",
]


def _main_text(html: str) -> str:
    """What a reader sees of the page's main part: no markup, scripts, addresses or codes."""
    main = html.split("<main", 1)[-1].split(">", 1)[-1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main)
    text = re.sub(r"\S+@\S+|https?://\S+|\b(?:INV|RET)-\d{4}-\d+", " ", text)
    return text


@pytest.mark.django_db
def test_the_store_in_japanese_leaves_no_english_words(northwind) -> None:
    client = signed_in(northwind, "primary")
    found = {}
    for url in STORE:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert page.status_code == 200, url
        text = _main_text(page.content.decode()).replace(northwind.organisation.name, " ")
        for user in ("Pat", "Primary", "Super", "Admin", "Agent", "Inactive", "Northwind"):
            text = text.replace(user, " ")  # the test organisation's people's names
        words = {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.upper() not in LATIN_ALLOWED}
        if words:
            found[url] = sorted(words)
    assert found == {}


@pytest.mark.django_db
def test_a_column_of_dates_is_headed_as_dates_and_one_of_moments_as_moments(northwind) -> None:
    page = signed_in(northwind, "primary").get("/store/", HTTP_ACCEPT_LANGUAGE="ja")
    html = page.content.decode()
    billing = html.split('data-testid="billing-history"')[1].split("</thead>")[0]
    assert '<th scope="col">日付</th>' in billing  # booked days
    assert "日時" not in billing


@pytest.mark.django_db
def test_prices_and_feature_limits_are_written_the_japanese_way(northwind) -> None:
    """Assembled on the page, not in one message: a price with its tax (¥60,000税抜
    （¥66,000税込）), a feature's limit (部門：1), a label and its value (あなたの役割：…)."""
    client = signed_in(northwind, "primary")
    store = client.get("/store/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<span class="tax-label">税抜</span>（¥' in store
    assert "</span> (" not in store
    plans = _main_text(client.get("/store/plans/", HTTP_ACCEPT_LANGUAGE="ja").content.decode())
    assert "部門：" in plans and "部門:" not in plans
    dashboard = _main_text(client.get("/", HTTP_ACCEPT_LANGUAGE="ja").content.decode())
    assert "あなたの役割：" in dashboard and "あなたの役割： " not in dashboard


@pytest.mark.django_db
def test_the_job_queue_says_its_states_and_events_in_japanese() -> None:
    """procrastinate's list of jobs: its state column, its filter by state and each job's
    summary in the back office's words, not the queue's codes (todo, doing, deferred)."""
    assert queue_billing_catch_up()  # a real job, "deferred" by procrastinate's trigger
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(StaffFactory.create(is_superuser=True))
    html = client.get("/admin/procrastinate/procrastinatejob/").content.decode()
    rows = html.split('id="result_list"')[1].split(">", 1)[1].split("</table>")[0]
    by_state = html.split('id="changelist-filter"')[1].split(">", 1)[1].split("</details>")[0]
    assert '<span aria-hidden="true">🗓️</span> 待機中' in rows
    assert re.search(r"\d+分前に登録", rows)
    assert "キュー：billing" in rows
    assert re.findall(r'<a href="\?status__exact=\w+">(.*?)</a>', by_state) == [
        "待機中",
        "実行中",
        "成功",
        "失敗",
        "取り消し済み",
        "中断済み",
    ]
    words = set(re.findall(r"[A-Za-z_]{3,}", re.sub(r"<[^>]+>", " ", rows + by_state)))
    assert words <= {"billing", "run_billing"}  # the queue's and the task's own names


def test_every_column_and_field_the_back_office_can_show_is_named_in_japanese() -> None:
    """Every field of every model in the back office, and every column and field its pages
    list, has a Japanese name: a list with no rows yet shows no column to the page tests."""
    found = {}
    with translation.override("ja"):
        for model, model_admin in admin.site._registry.items():
            names = {
                name
                for name in [*model_admin.list_display, *(model_admin.fields or [])]
                if isinstance(name, str)
            }
            names |= {field.name for field in model._meta.concrete_fields}
            labels = {name: str(label_for_field(name, model, model_admin)) for name in names}
            if wrong := {name: label for name, label in labels.items() if english_words(label)}:
                found[model._meta.label] = wrong
    assert found == {}
