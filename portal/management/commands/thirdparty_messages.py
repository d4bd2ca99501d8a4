"""``manage.py thirdparty_messages``: the Japanese of the libraries whose pages the portal
shows (Django's forms and admin, auth, allauth), written as the portal writes Japanese.

Their catalogues put a half-width space beside Japanese (「プラン で絞り込む」, 「過去 7 日間」)
and ASCII colons and parentheses after it (「操作:」, 「パスワード (再入力)」). This writes
``locale/thirdparty/ja/LC_MESSAGES/django.po`` (and ``djangojs.po``) with each such message
rewritten by ``written_as_japanese``; ``LOCALE_PATHS`` lists that folder after ours, so
these translations take precedence over the libraries' own and ours over both.
``make messages`` runs it and compiles the result; run it again after upgrading them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polib
from django import conf
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

JAPANESE = "\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e"
_SPACE = re.compile(rf"(?<=[{JAPANESE}]) +| +(?=[{JAPANESE}])")
_COLON = re.compile(rf"(?<=[{JAPANESE}]):")
_COMMA = re.compile(rf"(?<=[{JAPANESE}]),")
_PARENTHESES = re.compile(r"\(([^()]*)\)")
_PLACEHOLDER = re.compile(r"%\([^)]+\)[a-z]|\{[a-z_]*\}|%[sd]")
# Messages whose punctuation is data, not prose: the yesno filter splits on its commas.
KEPT_AS_THEY_ARE = {"yes,no,maybe"}
# The label suffix every form puts after a label (「名前：」).
LABEL_SUFFIX = ":"
OUTPUT = Path(settings.BASE_DIR) / "locale" / "thirdparty" / "ja" / "LC_MESSAGES"
# The libraries' catalogues, by domain: Django's own, then each installed app's.
DOMAINS = ("django", "djangojs")


def written_as_japanese(text: str) -> str:
    """``text`` with no half-width space beside a Japanese character, and full-width
    colons, commas and parentheses where they stand beside Japanese. Placeholders
    (``%(name)s``) are left as they are."""
    placeholders = _PLACEHOLDER.findall(text)
    text = _PLACEHOLDER.sub("\x00", text)
    text = _SPACE.sub("", text)

    def full_width(match: re.Match[str]) -> str:
        start, end = match.span()
        inner = match.group(1)
        beside = match.string[start - 1 : start] + match.string[end : end + 1]
        if re.search(f"[{JAPANESE}]", inner + beside):
            return f"（{inner.strip()}）"
        return match.group(0)

    while (rewritten := _PARENTHESES.sub(full_width, text)) != text:  # inner ones first
        text = rewritten
    text = _SPACE.sub("", text)  # beside the full-width parentheses too
    text = _COMMA.sub("、", _COLON.sub("：", text))
    text = _SPACE.sub("", text)  # and beside the full-width colons and commas
    for placeholder in placeholders:
        text = text.replace("\x00", placeholder, 1)
    return text


def _catalogues(domain: str) -> list[Path]:
    """The Japanese catalogues of ``domain`` that Django reads after ours: its own, then
    the installed apps' (the portal's apps have none)."""
    folders = [Path(conf.__file__).parent / "locale"]
    folders += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    found = [folder / "ja" / "LC_MESSAGES" / f"{domain}.po" for folder in folders]
    return [path for path in found if path.exists() and OUTPUT not in path.parents]


def rewritten(domain: str) -> polib.POFile:
    """The messages of ``domain`` whose Japanese ``written_as_japanese`` changes."""
    catalogue = polib.POFile(wrapwidth=100)
    catalogue.metadata = {
        "Project-Id-Version": "helpdesk-portal thirdparty",
        "Language": "ja",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    seen: set[tuple[str | None, str]] = set()
    for path in _catalogues(domain):
        for entry in polib.pofile(str(path)):
            key = (entry.msgctxt, entry.msgid)
            if entry.obsolete or entry.fuzzy or key in seen or entry.msgid in KEPT_AS_THEY_ARE:
                continue
            seen.add(key)
            if entry.msgid == LABEL_SUFFIX:
                text = "："
            else:
                text = written_as_japanese(entry.msgstr) if entry.msgstr else ""
            plural = {n: written_as_japanese(t) for n, t in entry.msgstr_plural.items()}
            if text == entry.msgstr and plural == entry.msgstr_plural:
                continue
            catalogue.append(
                polib.POEntry(
                    msgctxt=entry.msgctxt,
                    msgid=entry.msgid,
                    msgid_plural=entry.msgid_plural,
                    msgstr=text,
                    msgstr_plural=plural,
                    flags=[flag for flag in entry.flags if flag != "fuzzy"],
                    occurrences=[(str(path.relative_to(path.parents[4])), "")],
                )
            )
    return catalogue


class Command(BaseCommand):
    help = (
        "Write locale/thirdparty/: the Japanese of Django and allauth as the portal writes "
        "Japanese (no half-width space beside Japanese, full-width punctuation)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for domain in DOMAINS:
            catalogue = rewritten(domain)
            catalogue.save(str(OUTPUT / f"{domain}.po"))
            catalogue.save_as_mofile(str(OUTPUT / f"{domain}.mo"))
            self.stdout.write(f"{OUTPUT / domain}.po: {len(catalogue)} message(s) rewritten")
