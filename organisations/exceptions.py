"""Domain errors of creating an organisation and of self-service sign-up."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import DomainError, InvalidOrganisation


class OrganisationAddressTaken(InvalidOrganisation):
    code = "organisation_address_taken"
    message = _("An organisation with the address “%(slug)s” already exists.")


class OrganisationAddressHeld(OrganisationAddressTaken):
    """Taken by a sign-up whose site is being made (verified, not yet an organisation)."""

    code = "organisation_address_held"
    message = _("The address “%(slug)s” was just taken by a sign-up. Please choose another.")


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


class OrganisationNotClosed(DomainError):
    code = "organisation_not_closed"
    message = _(
        "%(organisation)s is not closed: close it first, or delete it now with a reason "
        "(it is then closed first)."
    )
    status = 409


class DeletionReasonRequired(DomainError):
    code = "deletion_reason_required"
    message = _(
        "Say why: an organisation is deleted before its grace period ends only for a stated reason."
    )


class OrganisationDeleted(DomainError):
    code = "organisation_deleted"
    message = _("%(organisation)s was deleted on %(date)s: its data is gone.")
    status = 410


class OrganisationAddressQuarantined(InvalidOrganisation):
    """The address of an organisation deleted lately: links and emails may still name it."""

    code = "organisation_address_quarantined"
    message = _(
        "The address “%(slug)s” belonged to an organisation deleted lately; it is free "
        "again from %(date)s. Please choose another address."
    )
