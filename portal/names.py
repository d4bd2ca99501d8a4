"""Names people give (an organisation, a department, a person, a plan): tidied the same
way everywhere and refused when nothing of them would show.

``tidy`` turns runs of white space into one space and drops white space and invisible
format characters (a zero-width space, a direction mark, a byte-order mark) at either
end; inside a name they stay (an emoji sequence is joined by zero-width joiners).
``shows`` wants at least one visible character and no control character,
``is_acceptable`` that and at most ``max_length`` characters. Services check with these
(commands reach them directly); forms use ``NameField``, the admin ``VisibleNamesAdmin``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Field
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# Categories that draw nothing by themselves: separators, controls, format characters,
# unassigned and surrogate code points, combining marks with no base.
_INVISIBLE_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Cs", "Mn", "Me"}
# Letters and symbols that are blank nonetheless (Hangul fillers, the blank Braille cell).
_BLANK = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def _visible(character: str) -> bool:
    return character not in _BLANK and unicodedata.category(character) not in _INVISIBLE_CATEGORIES


def _trimmed_at_the_ends(character: str) -> bool:
    return character.isspace() or character in _BLANK or unicodedata.category(character) == "Cf"


def tidy(value: str | None) -> str:
    text = " ".join((value or "").split())
    start, end = 0, len(text)
    while start < end and _trimmed_at_the_ends(text[start]):
        start += 1
    while end > start and _trimmed_at_the_ends(text[end - 1]):
        end -= 1
    return text[start:end]


def shows(name: str) -> bool:
    """At least one visible character, and no control character."""
    return any(_visible(character) for character in name) and not any(
        unicodedata.category(character) == "Cc" for character in name
    )


def is_acceptable(name: str, *, max_length: int) -> bool:
    """For a name already tidied."""
    return 0 < len(name) <= max_length and shows(name)


class NameField(forms.CharField):
    """A form's name, tidied; one given that would not show is refused with a message
    (even where the field may be left empty). Empty is left to ``required``."""

    default_error_messages = {
        "invisible": _("Use at least one visible character (a letter, a digit or a sign)."),
    }

    def clean(self, value: Any) -> str:
        given = self.to_python(value)
        name = tidy(given)
        if given and not shows(name):
            raise forms.ValidationError(self.error_messages["invisible"], code="invisible")
        cleaned: str = super().clean(name)
        return cleaned


class VisibleNamesAdmin(admin.ModelAdmin):
    """An admin whose ``name_fields`` are edited with ``NameField``."""

    name_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name in self.name_fields:
            kwargs["form_class"] = NameField
        return super().formfield_for_dbfield(db_field, request, **kwargs)
