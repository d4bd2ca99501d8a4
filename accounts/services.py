"""Writes on users, roles and departments of the current organisation's schema.

Each service takes the acting user (``None`` for operators' commands), checks the rules
in ``accounts.selectors``, runs in one transaction with the rows it changes locked, and
sends email only after commit.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.exceptions import (
    AlreadyActive,
    AlreadyDeactivated,
    AlreadyPrimaryContact,
    CannotDeactivateSelf,
    DepartmentNameTaken,
    InvalidDepartmentName,
    InvalidEmail,
    InvalidFullName,
    LimitReached,
    NotAllowed,
    PrimaryContactProtected,
    SeatsExhausted,
    SuperAdminRightsRequired,
    UserAlreadyExists,
    UserInactive,
)
from accounts.limits import limits
from accounts.models import EMAIL_MAX_LENGTH, Department, User
from audit.services import Action, record
from portal import names
from portal.emails import dear, send_after_commit
from portal.models import Organisation
from portal.selectors import current_organisation, organisation_url


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed; raises ``InvalidEmail`` when it is not an address."""
    value = (email or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidEmail(email=email) from None
    if len(value) > EMAIL_MAX_LENGTH:
        raise InvalidEmail(email=email)
    return value


def _require_user_manager(acting_user: User | None) -> None:
    if acting_user is not None and not selectors.can_manage_users(acting_user):
        raise NotAllowed()


def _require_full_control(acting_user: User | None) -> None:
    if acting_user is not None and not selectors.has_full_control(acting_user):
        raise SuperAdminRightsRequired()


def _require_may_edit(acting_user: User | None, user: User) -> None:
    _require_user_manager(acting_user)
    if acting_user is not None and not selectors.can_edit_user(acting_user, user):
        raise SuperAdminRightsRequired()


def _locked(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


def _roles(user: User) -> dict[str, bool]:
    return {
        "is_primary_contact": user.is_primary_contact,
        "is_super_admin": user.is_super_admin,
        "is_administrator": user.is_administrator,
        "is_active": user.is_active,
    }


def _lock_limits() -> Organisation | None:
    """First in every change counted against the plan's limits (who holds a seat, a new
    department): the organisation's subscription row, locked as plan changes lock it
    (``accounts.limits``). None on the public schema: vendor staff
    hold no seats and have no departments."""
    organisation = current_organisation()
    if organisation is not None:
        limits().lock(organisation)
    return organisation


def _require_free_seat(organisation: Organisation | None) -> None:
    """Every active user takes one of the subscription's licensed seats (with the seats
    locked: ``_lock_limits``)."""
    if organisation is None:
        return
    seats = limits().seats(organisation)
    if selectors.count_active_users() >= seats:
        raise SeatsExhausted(seats=seats)


def _record_seats(organisation: Organisation | None) -> None:
    """Last in every change of who holds a seat: the count the public schema keeps."""
    if organisation is not None:
        limits().record_seats_in_use(organisation, selectors.count_active_users())


def add_user(
    *,
    email: str,
    full_name: str = "",
    is_super_admin: bool = False,
    is_administrator: bool = False,
    is_primary_contact: bool = False,
    password: str | None = None,
    acting_user: User | None,
) -> User:
    """Create a user in the current organisation. Without ``password`` the user has
    none until they follow a set-password link. Granting super admin needs full control;
    the primary contact role is given only by commands (organisation creation)."""
    _require_user_manager(acting_user)
    if is_super_admin:
        _require_full_control(acting_user)
    if is_primary_contact and acting_user is not None:
        raise SuperAdminRightsRequired()
    address = normalise_email(email)
    name = _clean_full_name(full_name)
    with transaction.atomic():
        organisation = _lock_limits()
        if User.objects.filter(email=address).exists():
            raise UserAlreadyExists(email=address)
        _require_free_seat(organisation)
        try:
            user = User.objects.create_user(
                address,
                password,
                full_name=name,
                is_super_admin=is_super_admin,
                is_administrator=is_administrator,
                is_primary_contact=is_primary_contact,
            )
        except IntegrityError:  # a concurrent add of the same address
            raise UserAlreadyExists(email=address) from None
        EmailAddress.objects.create(user=user, email=address, verified=True, primary=True)
        _record_seats(organisation)
        record(
            Action.USER_ADDED,
            acting_user=acting_user,
            target=user,
            after={"email": user.email, **_roles(user)},
        )
    return user


def invite_user(
    *,
    organisation: Organisation,
    email: str,
    full_name: str = "",
    is_super_admin: bool = False,
    is_administrator: bool = False,
    acting_user: User | None,
) -> User:
    """Add a user without a password and email them a link to choose one (after commit)."""
    with transaction.atomic():
        user = add_user(
            email=email,
            full_name=full_name,
            is_super_admin=is_super_admin,
            is_administrator=is_administrator,
            acting_user=acting_user,
        )
        link = organisation_url(organisation, selectors.set_password_path(user))
        send_after_commit(
            "accounts/email/invitation",
            [user.email],
            {"organisation": organisation, "user": user, "inviter": acting_user, "link": link},
            salutation=dear(user.full_name),
        )
    return user


def update_roles(
    user: User, *, is_super_admin: bool, is_administrator: bool, acting_user: User | None
) -> User:
    """Set the super admin and administrator flags. Only full control may touch the
    super admin flag or edit a super admin; the primary contact's roles never go down."""
    with transaction.atomic():
        user = _locked(user)
        _require_may_edit(acting_user, user)
        if is_super_admin != user.is_super_admin:
            _require_full_control(acting_user)
        demoted = (user.is_super_admin and not is_super_admin) or (
            user.is_administrator and not is_administrator
        )
        if user.is_primary_contact and demoted:
            raise PrimaryContactProtected()
        before = _roles(user)
        user.is_super_admin = is_super_admin
        user.is_administrator = is_administrator
        user.save(update_fields=["is_super_admin", "is_administrator"])
        record(
            Action.USER_ROLES_CHANGED,
            acting_user=acting_user,
            target=user,
            before=before,
            after=_roles(user),
        )
    return user


def deactivate_user(user: User, *, acting_user: User | None) -> User:
    """Stop a user from signing in. Their data stays; nothing is deleted."""
    with transaction.atomic():
        organisation = _lock_limits()
        user = _locked(user)
        _require_may_edit(acting_user, user)
        if acting_user is not None and acting_user.pk == user.pk:
            raise CannotDeactivateSelf()
        if user.is_primary_contact:
            raise PrimaryContactProtected()
        if not user.is_active:
            raise AlreadyDeactivated(user=user)
        _switch_active(user, False, action=Action.USER_DEACTIVATED, acting_user=acting_user)
        _record_seats(organisation)
    return user


def _switch_active(
    user: User,
    active: bool,
    *,
    action: Action,
    acting_user: User | None,
    organisation: Organisation | None = None,
) -> None:
    """Turn sign-in on or off for a locked user row, audited; turning it off also ends
    the user's sessions (a reactivation does not bring them back)."""
    user.is_active = active
    if not active:
        user.session_epoch += 1
    user.save(update_fields=["is_active", "session_epoch"])
    record(
        action,
        acting_user=acting_user,
        organisation=organisation,
        target=user,
        before={"is_active": not active},
        after={"is_active": active},
    )


def deactivate_for_seats(
    user_ids: list[int], *, acting_user: User | None, organisation: Organisation
) -> None:
    """Deactivate the users a plan change leaves without a seat (the change's caller
    chose who stays and checked the rules, holding the subscription's lock). Their data
    stays; they can be reactivated."""
    for user in selectors.seat_holders().select_for_update().filter(pk__in=user_ids):
        _switch_active(
            user,
            False,
            action=Action.USER_SEAT_DEACTIVATED,
            acting_user=acting_user,
            organisation=organisation,
        )
    _record_seats(organisation)


def reactivate_user(user: User, *, acting_user: User | None) -> User:
    """Let a deactivated user sign in again, with all their data as it was."""
    with transaction.atomic():
        organisation = _lock_limits()
        user = _locked(user)
        _require_may_edit(acting_user, user)
        if user.is_active:
            raise AlreadyActive(user=user)
        _require_free_seat(organisation)
        _switch_active(user, True, action=Action.USER_REACTIVATED, acting_user=acting_user)
        _record_seats(organisation)
    return user


def transfer_primary_contact(new_contact: User, *, acting_user: User | None) -> User:
    """Make ``new_contact`` the organisation's one primary contact. Only the primary
    contact or a super admin may; the former contact keeps their other roles."""
    _require_full_control(acting_user)
    with transaction.atomic():
        current = User.objects.select_for_update().filter(is_primary_contact=True).first()
        new_contact = _locked(new_contact)
        if not new_contact.is_active:
            raise UserInactive(user=new_contact)
        if new_contact.is_primary_contact:
            raise AlreadyPrimaryContact(user=new_contact)
        if current is not None:
            # Cleared first: the database allows one primary contact at a time.
            current.is_primary_contact = False
            current.save(update_fields=["is_primary_contact"])
        new_contact.is_primary_contact = True
        new_contact.save(update_fields=["is_primary_contact"])
        record(
            Action.PRIMARY_CONTACT_TRANSFERRED,
            acting_user=acting_user,
            target=new_contact,
            before={"primary_contact": current.email if current else None},
            after={"primary_contact": new_contact.email},
        )
    return new_contact


def _clean_department_name(name: str) -> str:
    value = names.tidy(name)
    if not names.is_acceptable(value, max_length=100):
        raise InvalidDepartmentName()
    return value


def _clean_full_name(full_name: str) -> str:
    """A full name may be left out; one given must show."""
    value = names.tidy(full_name)
    if full_name.strip() and not names.is_acceptable(value, max_length=150):
        raise InvalidFullName()
    return value


def create_department(*, name: str, acting_user: User | None) -> Department:
    """Add a department to the current organisation; names are unique, ignoring case."""
    if acting_user is not None and not selectors.can_manage_departments(acting_user):
        raise NotAllowed()
    value = _clean_department_name(name)
    try:
        with transaction.atomic():
            _require_department_room(_lock_limits())
            department = Department.objects.create(name=value)
            record(
                Action.DEPARTMENT_CREATED,
                acting_user=acting_user,
                target=department,
                after={"name": value},
            )
    except IntegrityError:
        raise DepartmentNameTaken(name=value) from None
    return department


def _require_department_room(organisation: Organisation | None) -> None:
    """Departments past the plan's limit are hidden, not deleted; no new ones then (with
    the limits locked: ``_lock_limits``)."""
    if organisation is None:
        return
    allowed = limits().departments(organisation)
    if allowed is not None and selectors.count_departments() >= allowed:
        raise LimitReached(limit=allowed, feature=_("departments"))


def rename_department(department: Department, *, name: str, acting_user: User | None) -> Department:
    """Rename a department; its rows and history are otherwise untouched."""
    if acting_user is not None and not selectors.can_manage_departments(acting_user):
        raise NotAllowed()
    value = _clean_department_name(name)
    try:
        with transaction.atomic():
            department = Department.objects.select_for_update().get(pk=department.pk)
            before = {"name": department.name}
            department.name = value
            department.save(update_fields=["name"])
            record(
                Action.DEPARTMENT_RENAMED,
                acting_user=acting_user,
                target=department,
                before=before,
                after={"name": value},
            )
    except IntegrityError:
        raise DepartmentNameTaken(name=value) from None
    return department
