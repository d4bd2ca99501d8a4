"""Seats: who keeps one when a change leaves fewer seats than active users (the rules every
change applies: now, scheduled, or when a scheduled change comes due), and the count of
seats in use the public schema keeps."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.selectors import seat_holders
from portal.models import Organisation
from subscriptions.exceptions import KeepListInvalid, KeepListRequired
from subscriptions.models import Subscription
from subscriptions.services.guards import is_vendor_staff


def leaving_users(
    organisation: Organisation,
    *,
    plan_name: str,
    seats: int,
    keep_user_ids: Iterable[int] | None,
    acting_user: User | None,
) -> list[int]:
    """The active users a change to ``seats`` leaves without a seat, given who the
    customer keeps: none when everyone fits. The kept users must be active users of the
    organisation, at most ``seats``, the primary contact among them, and a customer may
    not leave themselves out. Changes nothing."""
    # Decided before switching schema: staff are recognised on the public schema.
    customer = acting_user is not None and not is_vendor_staff(acting_user)
    with tenant_context(organisation):
        active = dict(seat_holders().values_list("pk", "is_primary_contact"))
    if len(active) <= seats:
        return []
    if not keep_user_ids:
        raise KeepListRequired(plan=plan_name, seats=seats, active=len(active))
    keep = {int(pk) for pk in keep_user_ids}
    if not keep <= active.keys():
        raise KeepListInvalid(reason=_("some of them are not active users of this organisation."))
    if len(keep) > seats:
        raise KeepListInvalid(reason=_("choose at most %(seats)s users.") % {"seats": seats})
    if any(is_primary and pk not in keep for pk, is_primary in active.items()):
        raise KeepListInvalid(reason=_("the primary contact always stays active."))
    if customer and acting_user is not None and acting_user.pk not in keep:
        raise KeepListInvalid(reason=_("you cannot deactivate yourself."))
    return sorted(active.keys() - keep)


def leaving_when_due(organisation: Organisation, *, seats: int, kept: Iterable[int]) -> list[int]:
    """When a scheduled change comes due, the choice made when scheduling is checked
    again: the kept users who are still active stay, with the primary contact; every
    other active user (including anyone activated since) leaves. Raises
    ``KeepListInvalid`` when those who must stay no longer fit in ``seats``, or when
    users must leave and nobody chose (everyone fitted when it was scheduled)."""
    with tenant_context(organisation):
        active = dict(seat_holders().values_list("pk", "is_primary_contact"))
    if len(active) <= seats:
        return []
    if not kept:  # everyone fitted when it was scheduled: nobody chose who leaves
        raise KeepListInvalid(
            reason=_("%(active)s users are active now and nobody chose who keeps a seat.")
            % {"active": len(active)}
        )
    keep = {pk for pk in kept if pk in active} | {
        pk for pk, is_primary in active.items() if is_primary
    }
    if len(keep) > seats:
        raise KeepListInvalid(
            reason=_("the users to keep no longer fit in %(seats)s seats.") % {"seats": seats}
        )
    return sorted(active.keys() - keep)


def kept_by_rule(organisation: Organisation, *, seats: int) -> list[int]:
    """Who keeps a seat when nobody chose (an organisation falling back to Free after its
    payment failed or its trial ended): the primary contact, then the super admins, then the
    most recently active (last sign-in, newest first; never signed in last, oldest account
    first), up to ``seats``. Empty when every active user fits."""
    ids = _in_keeping_order(organisation)
    return [] if len(ids) <= seats else ids[:seats]


def leaving_by_rule(organisation: Organisation, *, seats: int) -> list[int]:
    """The active users ``kept_by_rule`` leaves without a seat."""
    return _in_keeping_order(organisation)[seats:]


def _in_keeping_order(organisation: Organisation) -> list[int]:
    with tenant_context(organisation):
        active = seat_holders().order_by(
            "-is_primary_contact", "-is_super_admin", F("last_login").desc(nulls_last=True), "pk"
        )
        return list(active.values_list("pk", flat=True))


def record_seats_in_use(organisation: Organisation, used: int) -> None:
    """Within the change of who is active: the number of seats in use, kept in the public
    schema (``Subscription.seats_in_use``) for what reads many organisations at once."""
    Subscription.objects.filter(organisation=organisation).update(seats_in_use=used)
