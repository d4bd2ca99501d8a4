"""Who may do what with the subscription: every organisation role (and vendor staff and
commands) against every subscription action, in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portal.exceptions import PermissionDenied
from subscriptions.models import RefundRequest
from subscriptions.services import overrides, plan_changes, refunds
from tests.conftest import Site
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

ROLES = ["primary", "super", "admin", "agent", "inactive", "staff", "command"]


def _downgrade(site: Site) -> Any:
    return plan_changes.change_plan(site.organisation, "professional", acting_user=None)


def _pending_refund(site: Site) -> RefundRequest:
    return refunds.request_refund(_downgrade(site), acting_user=site.user("primary"))


ACTIONS: dict[str, tuple[Callable[[Site, Any], Any], set[str]]] = {
    "change plan": (
        lambda site, actor: plan_changes.change_plan(
            site.organisation, "professional", acting_user=actor
        ),
        {"primary", "super", "staff", "command"},
    ),
    "share feedback": (
        lambda site, actor: plan_changes.share_feedback(
            _downgrade(site), acting_user=actor, reason="other"
        ),
        {"primary", "super", "staff", "command"},
    ),
    "request refund": (
        lambda site, actor: refunds.request_refund(_downgrade(site), acting_user=actor),
        {"primary", "super"},
    ),
    "withdraw refund": (
        lambda site, actor: refunds.withdraw_refund(_pending_refund(site), acting_user=actor),
        {"primary", "super"},
    ),
    "approve refund": (
        lambda site, actor: refunds.approve_refund(_pending_refund(site), acting_user=actor),
        {"staff", "command"},
    ),
    "reject refund": (
        lambda site, actor: refunds.reject_refund(
            _pending_refund(site), acting_user=actor, note="No"
        ),
        {"staff", "command"},
    ),
    "grant override": (
        lambda site, actor: overrides.grant_override(
            site.organisation, "webhooks", acting_user=actor, reason="Trial", limit=20
        ),
        {"staff", "command"},
    ),
}


def _actor(site: Site, role: str) -> Any:
    if role == "command":
        return None
    if role == "staff":  # vendor staff live in the public schema
        return StaffFactory.create(email="ops@vendor.test", superuser=True)
    return site.user(role)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(northwind: Site, role: str, action: str) -> None:
    perform, allowed = ACTIONS[action]
    actor = _actor(northwind, role)
    if role in allowed:
        assert perform(northwind, actor) is not None
    else:
        with pytest.raises(PermissionDenied):
            perform(northwind, actor)
