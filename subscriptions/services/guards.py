"""Who may call the subscription services. Each guard raises a domain error; commands
(``acting_user=None``) pass every guard except the customer's own."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from accounts import selectors as account_selectors
from accounts.models import User
from portal.models import Organisation
from portal.tenancy import on_public_schema
from subscriptions.exceptions import (
    NotPrimaryContact,
    NotSubscriptionManager,
    StaffPermissionRequired,
)


def is_vendor_staff(user: User | None) -> bool:
    """Vendor staff act from the public site (their user rows live in its schema)."""
    return bool(user is not None and user.is_active and user.is_staff and on_public_schema())


def require_subscription_manager(organisation: Organisation, acting_user: User | None) -> None:
    """Commands may; vendor staff with the permission may; of the organisation's own
    users, only the primary contact or a super admin, as they are in the database now."""
    if acting_user is None:
        return
    if is_vendor_staff(acting_user):
        if not acting_user.has_perm("subscriptions.change_subscription"):
            raise StaffPermissionRequired()
        return
    with tenant_context(organisation):
        current = User.objects.filter(pk=acting_user.pk, email=acting_user.email).first()
    if current is None or not account_selectors.can_manage_subscription(current):
        raise NotSubscriptionManager()


def require_customer_manager(organisation: Organisation, acting_user: User | None) -> None:
    """For what only the customer does (request or withdraw a refund): the primary
    contact or a super admin of the organisation, never staff or a command."""
    if acting_user is None or is_vendor_staff(acting_user):
        raise NotSubscriptionManager()
    require_subscription_manager(organisation, acting_user)


def require_staff(acting_user: User | None, permission: str) -> None:
    """Commands may; otherwise vendor staff with ``permission``."""
    if acting_user is None:
        return
    if not (is_vendor_staff(acting_user) and acting_user.has_perm(permission)):
        raise StaffPermissionRequired()


def require_primary_contact(
    organisation: Organisation, acting_user: User | None, *, or_staff_with: str
) -> None:
    """For what only the organisation's primary contact does of its own users (close it,
    take its data away), as the database has them now: operators may, and staff with the
    permission ``or_staff_with``."""
    if acting_user is None or is_vendor_staff(acting_user):
        require_staff(acting_user, or_staff_with)
        return
    with tenant_context(organisation):
        current = User.objects.filter(pk=acting_user.pk, is_active=True).first()
    if current is None or not current.is_primary_contact:
        raise NotPrimaryContact()
