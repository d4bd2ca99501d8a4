"""How a refused request is answered: the one place where a service's ``DomainError`` (its
translatable message and HTTP status) becomes what the caller shows. A page: an error on
its form, or the page's message, and the error's status (``answered``); the admin: its
message (``answered(..., admin=...)``); a command: a ``CommandError``, its message on
stderr and a non-zero exit (``DomainCommand``). Anything else propagates: a bug is not a
refusal."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.management.base import BaseCommand, CommandError
from django.http import HttpRequest

from portal.exceptions import DomainError


@dataclass
class Refusal:
    """What ``answered`` caught: false while nothing was refused."""

    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> int:
        """The status to answer with: the error's (4xx), else 200."""
        return self.error.status if self.error is not None else 200


@contextmanager
def answered(
    request: HttpRequest | None,
    *,
    form: forms.BaseForm | None = None,
    field: str | None = None,
    fields: Mapping[type[DomainError], str] | None = None,
    admin: ModelAdmin[Any] | None = None,
    about: str = "",
    problems: list[str] | None = None,
) -> Iterator[Refusal]:
    """Run the block (a service call and what follows it); a ``DomainError`` it raises ends
    it and is shown: on ``form`` (the field ``fields`` names for its kind of error, else
    ``field``, else the form as a whole), else as the admin's message (``admin``;
    ``about`` names the item of a bulk action), else among the page's ``problems`` (which
    it shows once each), else as the page's message. The ``Refusal`` yielded says whether
    it was refused, and with which status. ``request`` may be None with a ``form`` (its
    clean)."""
    refusal = Refusal()
    try:
        yield refusal
    except DomainError as error:
        refusal.error = error
        if form is not None:
            kinds = fields or {}
            named = next((name for kind, name in kinds.items() if isinstance(error, kind)), field)
            form.add_error(named, str(error))
        elif admin is not None:
            assert request is not None
            text = f"{about}: {error}" if about else str(error)
            admin.message_user(request, text, messages.ERROR)
        elif problems is not None:
            problems.append(str(error))
        else:
            assert request is not None
            messages.error(request, str(error))


class DomainCommand(BaseCommand):
    """A management command whose services' refusals are command errors: the message on
    stderr, exit status 1, no traceback."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except DomainError as error:
            raise CommandError(str(error)) from None
