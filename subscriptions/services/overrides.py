"""Overrides: a feature or a higher limit that staff grant one organisation, optionally
until a date, and revoke. Each one makes the organisation's entitlements be computed
afresh."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import Action, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import InvalidOverride
from subscriptions.models import EntitlementOverride, Feature, Subscription
from subscriptions.selectors.catalogue import get_feature
from subscriptions.selectors.entitlements import forget_entitlements
from subscriptions.services.guards import require_staff


def _bump_entitlements(organisation: Organisation) -> None:
    Subscription.objects.filter(organisation=organisation).touch()
    forget_entitlements(organisation)


def grant_override(
    organisation: Organisation,
    feature_code: str,
    *,
    acting_user: User | None,
    reason: str,
    limit: int | None = None,
    valid_until: date | None = None,
    today: date | None = None,
) -> EntitlementOverride:
    """Give one organisation a feature (a switch) or a higher limit (empty: unlimited),
    optionally until a date (inclusive)."""
    require_staff(acting_user, "subscriptions.add_entitlementoverride")
    feature = get_feature(feature_code)
    if not (reason or "").strip():
        raise InvalidOverride(reason=_("give a reason."))
    if feature.kind == Feature.Kind.SWITCH and limit is not None:
        raise InvalidOverride(reason=_("an on/off feature takes no limit."))
    if limit is not None and limit < 0:
        raise InvalidOverride(reason=_("a limit cannot be negative."))
    if valid_until is not None and valid_until < (today or clock.today(organisation)):
        raise InvalidOverride(reason=_("the end date is in the past."))
    with transaction.atomic():
        override = EntitlementOverride.objects.create(
            organisation=organisation,
            feature=feature,
            limit=limit,
            valid_until=valid_until,
            reason=reason.strip(),
            granted_by=acting_user.email if acting_user else "command",
        )
        _bump_entitlements(organisation)
        record(
            Action.OVERRIDE_GRANTED,
            acting_user=acting_user,
            organisation=organisation,
            target=override,
            after={
                "feature": feature.code,
                "limit": limit,
                "valid_until": valid_until,
                "reason": override.reason,
            },
        )
    return override


def revoke_override(
    override: EntitlementOverride, *, acting_user: User | None
) -> EntitlementOverride:
    require_staff(acting_user, "subscriptions.change_entitlementoverride")
    with transaction.atomic():
        override = (
            EntitlementOverride.objects.select_for_update()
            .select_related("organisation", "feature")
            .get(pk=override.pk)
        )
        if override.revoked_at is not None:
            raise InvalidOverride(reason=_("it was already revoked."))
        override.revoked_at = timezone.now()
        override.save(update_fields=["revoked_at"])
        _bump_entitlements(override.organisation)
        record(
            Action.OVERRIDE_REVOKED,
            acting_user=acting_user,
            organisation=override.organisation,
            target=override,
            before={"feature": override.feature.code, "limit": override.limit},
        )
    return override
