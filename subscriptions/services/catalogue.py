"""Staff's edits of the catalogue (in the admin): the rules an edit must keep (the seed's
five downgrades and their plans stay, a transition's kind matches the ranks, counted
limits stay) and the audit of every saved or deleted entry."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import Action, record
from subscriptions.exceptions import CatalogueRuleBroken
from subscriptions.models import Feature, Plan, PlanTransition, Subscription, TransitionKind
from subscriptions.selectors.catalogue import SEED_DOWNGRADES, SEED_PLAN_CODES, forget_catalogue
from subscriptions.selectors.entitlements import USAGE_COUNTERS


def check_transition(
    transition: PlanTransition | None, *, from_plan: Plan, to_plan: Plan, kind: str
) -> None:
    """Refuse a transition whose kind contradicts the plans' ranks, or an edit that
    would turn one of the seed's required downgrades into something else."""
    if from_plan.pk == to_plan.pk:
        raise CatalogueRuleBroken(reason=_("a plan cannot move to itself."))
    expected = TransitionKind.UPGRADE if to_plan.rank > from_plan.rank else TransitionKind.DOWNGRADE
    if kind != expected:
        names = {"from": from_plan.name, "to": to_plan.name}
        if expected == TransitionKind.UPGRADE:
            reason = _("from %(from)s to %(to)s is an upgrade, not a downgrade.") % names
        else:
            reason = _("from %(from)s to %(to)s is a downgrade, not an upgrade.") % names
        raise CatalogueRuleBroken(reason=reason)
    if transition is None or not transition.pk or not is_required_transition(transition):
        return
    if (transition.from_plan_id, transition.to_plan_id) != (from_plan.pk, to_plan.pk):
        raise CatalogueRuleBroken(
            reason=_("%(transition)s is one of the downgrades the product must offer.")
            % {"transition": transition}
        )


def is_required_transition(transition: PlanTransition) -> bool:
    """One of the seed's five downgrades (which staff may not remove)."""
    pair = (transition.from_plan.code, transition.to_plan.code)
    return transition.kind == TransitionKind.DOWNGRADE and pair in SEED_DOWNGRADES


def may_delete_plan(plan: Plan) -> bool:
    """Plans named by the seed's downgrades stay (those in use are also protected by
    their subscriptions)."""
    return plan.code not in SEED_PLAN_CODES


def may_delete_feature(feature: Feature) -> bool:
    """Limits the portal counts objects against stay: without them every organisation's
    objects would be hidden."""
    return feature.code not in USAGE_COUNTERS


def check_plan_code_change(plan: Plan, new_code: str) -> None:
    """The seed's downgrades name plans by code: those codes stay."""
    if plan.pk and plan.code in SEED_PLAN_CODES and new_code != plan.code:
        raise CatalogueRuleBroken(
            reason=_("the code “%(code)s” is used by the downgrades the product must offer.")
            % {"code": plan.code}
        )


def record_catalogue_change(
    entry: models.Model,
    *,
    acting_user: User | None,
    action: Action,
    before: dict[str, Any] | None = None,
) -> None:
    """After staff add, change or delete (before deleting) a catalogue entry (plan,
    price, feature, value, transition): audit it, and make every organisation's
    entitlements, and the plan names and the Store's catalogue, be computed afresh."""
    with transaction.atomic():
        Subscription.objects.touch()
        transaction.on_commit(forget_catalogue)
        record(
            action,
            acting_user=acting_user,
            organisation=None,
            target=entry,
            before=before or {},
            after={"entry": str(entry)},
        )
