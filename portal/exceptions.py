"""The root of the domain errors: each has a stable ``code`` and a translatable message.

Views turn them into a message and a 4xx response, commands into ``CommandError``, the
admin into ``message_user``. Apps define their own subclasses in ``<app>/exceptions.py``.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A request the domain refuses. ``str(error)`` is the message in the active language."""

    code: str = "domain_error"
    message: str | Promise = _("This action is not allowed.")
    status: int = 400

    def __init__(self, message: str | Promise | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.code)

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class PermissionDenied(DomainError):
    """The acting user may not do this."""

    code = "permission_denied"
    message = _("You do not have permission to do this.")
    status = 403


class InvalidOrganisation(DomainError):
    code = "invalid_organisation"
    message = _("The organisation details are not valid.")


class InvalidOrganisationName(InvalidOrganisation):
    code = "invalid_organisation_name"
    message = _(
        "Give the organisation a name of 1 to 100 characters, at least one of them visible."
    )
