"""manage.py thirdparty_messages: the Japanese of Django and allauth as the portal writes
Japanese, committed under locale/thirdparty/ and read before the libraries' own."""

from __future__ import annotations

import polib
import pytest
from django.utils import translation
from django.utils.translation import gettext

from portal.management.commands.thirdparty_messages import OUTPUT, rewritten, written_as_japanese
from tests.portal.test_japanese import faults


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("%(filter_title)s で絞り込む", "%(filter_title)sで絞り込む"),
        ("過去 7 日間", "過去7日間"),
        ("操作:", "操作："),
        ("パスワード (再入力)", "パスワード（再入力）"),
        ("サーバーエラー <em>(500)</em>", "サーバーエラー<em>(500)</em>"),
        (
            "この値は %(limit_value)s でなければなりません(実際には %(show_value)s でした) 。",
            "この値は%(limit_value)sでなければなりません（実際には%(show_value)sでした）。",
        ),
        ("%(name)s, %(other)s", "%(name)s, %(other)s"),  # nothing Japanese: as it is
    ],
)
def test_japanese_is_written_without_half_width_spacing(text: str, written: str) -> None:
    assert written_as_japanese(text) == written


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_committed_catalogue_is_what_the_libraries_installed_give(domain: str) -> None:
    """Run `make messages` after upgrading Django or allauth: this fails until then."""
    committed = polib.pofile(str(OUTPUT / f"{domain}.po"))
    compiled = polib.mofile(str(OUTPUT / f"{domain}.mo"))

    def texts(catalogue: polib._BaseFile) -> dict[tuple[str | None, str], object]:
        return {
            (e.msgctxt, e.msgid): (e.msgstr, sorted(e.msgstr_plural.items()))
            for e in catalogue
            if e.msgid
        }

    assert texts(committed) == texts(rewritten(domain)) == texts(compiled)
    assert len(committed) > 5


def test_every_rewritten_message_reads_as_japanese() -> None:
    catalogue = polib.pofile(str(OUTPUT / "django.po"))
    found = {
        entry.msgid: text
        for entry in catalogue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
        if faults(text)
    }
    assert found == {}


def test_the_admin_and_the_forms_read_the_rewritten_japanese() -> None:
    with translation.override("ja"):
        assert gettext("Past 7 days") == "過去7日間"
        assert gettext(" By %(filter_title)s ") == "%(filter_title)sで絞り込む"
        assert gettext(":") == "："  # a form's label suffix
        assert gettext("Your roles: %(roles)s") == "あなたの役割：%(roles)s"  # ours first
