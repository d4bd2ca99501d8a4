"""Domain errors of users, roles and departments."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import DomainError, PermissionDenied


class AccountsError(DomainError):
    code = "accounts_error"


class NotAllowed(PermissionDenied):
    code = "accounts_permission_denied"


class SuperAdminRightsRequired(PermissionDenied):
    code = "super_admin_required"
    message = _("Only the primary contact or a super admin can do this.")


class PrimaryContactProtected(AccountsError):
    code = "primary_contact_protected"
    message = _(
        "The primary contact cannot be deactivated or demoted. Transfer the primary "
        "contact role to another user first."
    )


class CannotDeactivateSelf(AccountsError):
    code = "cannot_deactivate_self"
    message = _("You cannot deactivate your own account.")


class UserAlreadyExists(AccountsError):
    code = "user_exists"
    message = _("A user with the email address %(email)s already exists.")


class InvalidEmail(AccountsError):
    code = "invalid_email"
    message = _("“%(email)s” is not a valid email address.")


class UserInactive(AccountsError):
    code = "user_inactive"
    message = _("%(user)s is deactivated. Reactivate them first.")


class AlreadyActive(AccountsError):
    code = "already_active"
    message = _("%(user)s is already active.")


class AlreadyDeactivated(AccountsError):
    code = "already_deactivated"
    message = _("%(user)s is already deactivated.")


class AlreadyPrimaryContact(AccountsError):
    code = "already_primary_contact"
    message = _("%(user)s is already the primary contact.")


class DepartmentNameTaken(AccountsError):
    code = "department_name_taken"
    message = _("A department named “%(name)s” already exists.")


class InvalidFullName(AccountsError):
    code = "invalid_full_name"
    message = _(
        "A full name may be left empty; one given needs at most 150 characters, at least one "
        "of them visible."
    )


class InvalidDepartmentName(AccountsError):
    code = "invalid_department_name"
    message = _("Give the department a name of 1 to 100 characters, at least one of them visible.")


# Raised here, decided by the plan (``accounts.limits``).
class SeatsExhausted(AccountsError):
    code = "seats_exhausted"
    message = _(
        "All %(seats)s licensed seats are in use. Deactivate a user or add seats to "
        "your subscription first."
    )


class LimitReached(AccountsError):
    code = "limit_reached"
    message = _("Your plan allows %(limit)s %(feature)s. Upgrade your plan to add more.")
