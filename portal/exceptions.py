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


class OrganisationAddressTaken(InvalidOrganisation):
    code = "organisation_address_taken"
    message = _("An organisation with the address “%(slug)s” already exists.")


class InvalidOrganisationName(InvalidOrganisation):
    code = "invalid_organisation_name"
    message = _(
        "Give the organisation a name of 1 to 100 characters, at least one of them visible."
    )


class SignUpLinkInvalid(DomainError):
    code = "sign_up_link_invalid"
    message = _(
        "This link has expired or has already been used. Start again from the sign-up page."
    )
    status = 404


class SignUpAddressGone(InvalidOrganisation):
    """Another sign-up was verified first for the address (an unverified one holds none)."""

    code = "sign_up_address_gone"
    message = _(
        "The address “%(slug)s” was taken by someone who confirmed their email address "
        "first. Nothing was created: start again with another address."
    )
    status = 409


class SignUpWelcomeSpent(DomainError):
    """The one-time sign-in to a new site was used or offered already, or came too late."""

    code = "sign_up_welcome_spent"
    message = _("Your site is ready. Sign in there with your email address and password.")
    status = 410


class SignUpNotRetryable(DomainError):
    code = "sign_up_not_retryable"
    message = _("Only a sign-up whose site could not be created can be tried again.")
    status = 409


class OrganisationAddressRetired(InvalidOrganisation):
    """The address's schema is still there: an organisation deleted without its data."""

    code = "organisation_address_retired"
    message = _(
        "The address “%(slug)s” belonged to an earlier organisation whose data is kept. "
        "Please choose another address."
    )
