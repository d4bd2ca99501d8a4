"""Japanese ships complete: every message is translated and the compiled catalogue
matches its source."""

from __future__ import annotations

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "ja" / "LC_MESSAGES"


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
