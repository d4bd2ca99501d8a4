"""Japanese ships complete: every message is translated, the catalogue holds the messages
the code and templates use, and the compiled catalogue matches its source."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "ja" / "LC_MESSAGES"
# As the Makefile's `messages` target runs it.
MAKEMESSAGES = ["makemessages", "-l", "ja", "--no-obsolete"]
MAKEMESSAGES += ["--ignore=.venv", "--ignore=.data", "--ignore=tests"]


def test_every_message_has_a_japanese_translation() -> None:
    catalogue = polib.pofile(str(LOCALE / "django.po"))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []
    assert len(catalogue) > 100


def _messages(catalogue: polib._BaseFile) -> dict[str, tuple[str, list[str]]]:
    return {
        entry.msgid: (entry.msgstr, [text for _, text in sorted(entry.msgstr_plural.items())])
        for entry in catalogue
        if entry.msgid and not entry.obsolete
    }


def test_the_compiled_catalogue_matches_the_source() -> None:
    source = _messages(polib.pofile(str(LOCALE / "django.po")))
    compiled = _messages(polib.mofile(str(LOCALE / "django.mo")))
    assert compiled == source


def _msgids(catalogue: polib._BaseFile) -> set[tuple[str | None, str, str]]:
    return {(e.msgctxt, e.msgid, e.msgid_plural) for e in catalogue if e.msgid and not e.obsolete}


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("xgettext", "msguniq", "msgmerge", "msgattrib")),
    reason="GNU gettext is not installed (apt-get install gettext)",
)
def test_the_catalogue_holds_the_messages_the_code_uses(tmp_path: Path) -> None:
    """`make messages`'s makemessages, run on a copy: a message added or changed in the code
    or templates without being translated in django.po (the one source) is caught here."""
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".data", "__pycache__", "*_cache", ".hypothesis", "staticfiles"
        ),
    )
    # makemessages needs no database; a URL keeps settings from starting one in the copy.
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://unused@127.0.0.1:9/unused",
        "DJANGO_DEBUG": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    used = _msgids(polib.pofile(str(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po")))
    catalogue = _msgids(polib.pofile(str(LOCALE / "django.po")))
    # Run `make messages` and translate what it lists in locale/ja/LC_MESSAGES/django.po.
    assert sorted(msgid for _, msgid, _ in used - catalogue) == [], "missing from django.po"
    assert sorted(msgid for _, msgid, _ in catalogue - used) == [], "no longer used"
