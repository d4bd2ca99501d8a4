"""Plan changes through subscriptions.services: the transition matrix, the preview,
applying changes, seats, money, idempotency and permissions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from accounts.exceptions import SeatsExhausted
from accounts.models import Department, User
from accounts.services import add_user, create_department
from audit.models import AuditEvent
from subscriptions.exceptions import (
    FeedbackReasonNotForChange,
    InvalidChoice,
    InvalidSeats,
    KeepListInvalid,
    KeepListRequired,
    NotSubscriptionManager,
    PaymentFailed,
    SamePlan,
    SeatsAgainstTheChange,
    StaffPermissionRequired,
    TransitionNeedsStep,
    UnknownPlan,
)
from subscriptions.models import ChangeKind, FeedbackReason, PlanChange, RefundRequest, Subscription
from subscriptions.money import round_up
from subscriptions.selectors import periods, previews
from subscriptions.services import plan_changes
from tests.conftest import Site, sending_queued_emails
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db

PLANS = ["free", "standard", "professional", "enterprise"]
RANK = {plan: rank for rank, plan in enumerate(PLANS)}
DOWNGRADES = {
    ("enterprise", "professional"),
    ("professional", "standard"),
    ("enterprise", "free"),
    ("professional", "free"),
    ("standard", "free"),
}


@pytest.mark.parametrize("to_plan", PLANS)
@pytest.mark.parametrize("from_plan", PLANS)
def test_the_transition_matrix(db, from_plan: str, to_plan: str) -> None:
    organisation, owner = make_organisation(from_plan, seats=3)
    allowed = (from_plan, to_plan) in DOWNGRADES or RANK[to_plan] > RANK[from_plan]
    if allowed:
        change = plan_changes.change_plan(organisation, to_plan, acting_user=owner)
        assert change.kind == ("upgrade" if RANK[to_plan] > RANK[from_plan] else "downgrade")
    else:
        expected = SamePlan if from_plan == to_plan else TransitionNeedsStep
        with pytest.raises(expected) as refused:
            plan_changes.change_plan(organisation, to_plan, acting_user=owner)
        if expected is TransitionNeedsStep:
            assert "downgrade to Professional first" in str(refused.value)
    subscription = Subscription.objects.select_related("plan").get(organisation=organisation)
    assert subscription.plan.code == (to_plan if allowed else from_plan)
    assert PlanChange.objects.filter(organisation=organisation).count() == int(allowed)


def _tenant_row_counts(organisation) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [organisation.schema_name],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{organisation.schema_name}"."{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def test_preview_reports_the_impact_and_changes_nothing(northwind: Site) -> None:
    organisation = northwind.organisation
    with schema_context(organisation.schema_name):
        for name in ("Billing", "Sales", "Returns", "Partners"):
            create_department(name=name, acting_user=None)
    rows, events = _tenant_row_counts(organisation), AuditEvent.objects.count()
    subscription = Subscription.objects.get(organisation=organisation)

    preview = previews.preview_plan_change(organisation, "free")

    assert preview.allowed and preview.kind == "downgrade"
    assert {"live_chat", "blueprints", "social_channels"} <= {f.code for f in preview.features_lost}
    assert preview.features_gained == ()
    [departments] = preview.limits_exceeded
    assert (
        departments.feature.code,
        departments.limit,
        departments.in_use,
        departments.hidden,
    ) == (
        "departments",
        1,
        5,
        4,
    )
    assert (preview.seats_before, preview.seats_after, preview.seats_in_use) == (10, 3, 4)
    assert preview.seats_over == 1
    assert preview.quote.refund > 0 and preview.quote.due == 0
    assert _tenant_row_counts(organisation) == rows
    assert AuditEvent.objects.count() == events
    assert Subscription.objects.get(organisation=organisation).updated_at == subscription.updated_at
    assert not PlanChange.objects.filter(organisation=organisation).exists()


def test_a_refused_preview_says_why(northwind: Site) -> None:
    preview = previews.preview_plan_change(northwind.organisation, "standard")
    assert not preview.allowed
    assert isinstance(preview.refusal, TransitionNeedsStep)


def test_changes_apply_at_once_any_number_of_times_and_delete_nothing(northwind: Site) -> None:
    organisation, primary = northwind.organisation, northwind.user("primary")
    with schema_context(organisation.schema_name):
        for name in ("Billing", "Sales", "Returns"):
            create_department(name=name, acting_user=None)
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    before = _tenant_row_counts(organisation)

    with sending_queued_emails():
        plan_changes.change_plan(organisation, "professional", acting_user=primary)
        plan_changes.change_plan(organisation, "free", acting_user=primary, keep_user_ids=keep)
        assert _tenant_row_counts(organisation) == before  # a deactivation changes no row count
        plan_changes.change_plan(organisation, "enterprise", acting_user=primary, seats=10)

    assert _tenant_row_counts(organisation) == before
    with schema_context(organisation.schema_name):
        assert Department.objects.count() == 4
        assert not User.objects.get(pk=northwind.user_ids["agent"]).is_active  # kept, not deleted
    changes = list(PlanChange.objects.filter(organisation=organisation).order_by("id"))
    assert [(c.from_plan.code, c.to_plan.code) for c in changes] == [
        ("enterprise", "professional"),
        ("professional", "free"),
        ("free", "enterprise"),
    ]
    assert AuditEvent.objects.filter(organisation=organisation, action="plan.changed").count() == 3
    assert not RefundRequest.objects.exists()  # never created by a change
    plan_mails = [m for m in mail.outbox if "is now on the" in m.subject]
    assert len(plan_mails) == 3 and all(m.to == [northwind.email("primary")] for m in plan_mails)
    assert Subscription.objects.get(organisation=organisation).plan.code == "enterprise"


def test_seats_over_the_new_plan_need_a_choice_of_who_stays(northwind: Site) -> None:
    organisation, primary = northwind.organisation, northwind.user("primary")
    ids = northwind.user_ids
    with pytest.raises(KeepListRequired):
        plan_changes.change_plan(organisation, "free", acting_user=primary)
    invalid = {
        "unknown user": [ids["primary"], 999_999],
        "deactivated user": [ids["primary"], ids["inactive"]],
        "too many": [ids["primary"], ids["super"], ids["admin"], ids["agent"]],
        "without the primary contact": [ids["super"], ids["admin"]],
    }
    for keep in invalid.values():
        with pytest.raises(KeepListInvalid):
            plan_changes.change_plan(organisation, "free", acting_user=primary, keep_user_ids=keep)
    with pytest.raises(KeepListInvalid, match="yourself"):
        plan_changes.change_plan(
            organisation,
            "free",
            acting_user=northwind.user("super"),
            keep_user_ids=[ids["primary"], ids["admin"]],
        )
    assert Subscription.objects.get(organisation=organisation).plan.code == "enterprise"

    change = plan_changes.change_plan(
        organisation, "free", acting_user=primary, keep_user_ids=[ids["primary"], ids["admin"]]
    )
    assert sorted(change.deactivated_user_ids) == sorted([ids["super"], ids["agent"]])
    with schema_context(organisation.schema_name):
        active = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    assert active == {ids["primary"], ids["admin"]}
    deactivated = AuditEvent.objects.filter(
        organisation=organisation, action="user.seat_deactivated"
    )
    assert sorted(deactivated.values_list("target", flat=True)) == sorted(
        [f"user:{ids['super']}", f"user:{ids['agent']}"]
    )


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_only_the_primary_contact_or_a_super_admin_changes_the_plan(
    northwind: Site, role: str
) -> None:
    organisation = northwind.organisation
    if role in {"primary", "super"}:
        plan_changes.change_plan(organisation, "professional", acting_user=northwind.user(role))
        assert Subscription.objects.get(organisation=organisation).plan.code == "professional"
    else:
        with pytest.raises(NotSubscriptionManager):
            plan_changes.change_plan(organisation, "professional", acting_user=northwind.user(role))
        assert Subscription.objects.get(organisation=organisation).plan.code == "enterprise"


def test_a_role_removed_meanwhile_or_another_organisations_user_is_refused(
    northwind: Site, contoso: Site
) -> None:
    super_admin = northwind.user("super")
    with schema_context(northwind.organisation.schema_name):
        User.objects.filter(pk=super_admin.pk).update(is_super_admin=False)
    with pytest.raises(NotSubscriptionManager):
        plan_changes.change_plan(northwind.organisation, "professional", acting_user=super_admin)
    with pytest.raises(NotSubscriptionManager):
        plan_changes.change_plan(
            northwind.organisation, "professional", acting_user=contoso.user("primary")
        )
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == "enterprise"


def test_vendor_staff_need_the_permission(northwind: Site) -> None:
    clerk = StaffFactory.create()
    with pytest.raises(StaffPermissionRequired):
        plan_changes.change_plan(northwind.organisation, "professional", acting_user=clerk)
    boss = StaffFactory.create(email="boss@vendor.test", superuser=True)
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=boss)
    assert (change.actor_kind, change.actor_email) == ("staff", "boss@vendor.test")


def test_a_repeated_idempotency_key_applies_once(northwind: Site) -> None:
    organisation, primary = northwind.organisation, northwind.user("primary")
    first = plan_changes.change_plan(
        organisation, "professional", acting_user=primary, idempotency_key="k-1"
    )
    again = plan_changes.change_plan(
        organisation, "professional", acting_user=primary, idempotency_key="k-1"
    )
    assert again.pk == first.pk
    assert PlanChange.objects.filter(organisation=organisation).count() == 1
    assert AuditEvent.objects.filter(organisation=organisation, action="plan.changed").count() == 1
    plan_changes.change_plan(organisation, "standard", acting_user=primary, idempotency_key="k-2")
    assert PlanChange.objects.filter(organisation=organisation).count() == 2


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_a_reused_key_is_no_pass_for_someone_who_may_not_change_the_plan(
    northwind: Site, role: str
) -> None:
    organisation = northwind.organisation
    first = plan_changes.change_plan(
        organisation, "professional", acting_user=northwind.user("primary"), idempotency_key="k-1"
    )
    with pytest.raises(NotSubscriptionManager):
        plan_changes.change_plan(
            organisation, "professional", acting_user=northwind.user(role), idempotency_key="k-1"
        )
    assert list(PlanChange.objects.filter(organisation=organisation)) == [first]


def test_an_upgrade_is_charged_through_the_payment_seam(db) -> None:
    organisation, owner = make_organisation("free")
    change = plan_changes.change_plan(organisation, "standard", acting_user=owner, seats=2)
    subscription = Subscription.objects.get(organisation=organisation)
    assert change.kind == "upgrade" and change.refund_quote == 0
    assert change.amount_due > 0
    assert change.payment_reference.startswith("recorded-")
    assert subscription.upgrade_charges == change.amount_due
    assert subscription.seats == 2


class DecliningGateway:
    """A payment processor that declines every hold (test double of an outside system)."""

    def hold(self, *, organisation, amount, currency, description, idempotency_key, **_):
        raise PaymentFailed(amount=f"{currency} {amount}", reason="card declined")


def test_a_declined_payment_applies_nothing(db, settings) -> None:
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = (
        "tests.subscriptions.test_plan_changes.DecliningGateway"
    )
    organisation, owner = make_organisation("standard", seats=2)
    events = AuditEvent.objects.count()
    with pytest.raises(PaymentFailed, match="card declined"):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner)
    assert Subscription.objects.get(organisation=organisation).plan.code == "standard"
    assert not PlanChange.objects.filter(organisation=organisation).exists()
    assert AuditEvent.objects.count() == events


def test_changing_the_billing_cycle_starts_a_new_period(db) -> None:
    organisation, owner = make_organisation("enterprise", seats=2)
    subscription = Subscription.objects.get(organisation=organisation)
    change = plan_changes.change_plan(organisation, "enterprise", acting_user=owner, cycle="annual")
    renewed = Subscription.objects.get(organisation=organisation)
    assert change.kind == "cycle" and (change.from_cycle, change.to_cycle) == ("monthly", "annual")
    assert renewed.period_start == subscription.period_start  # created today, changed today
    assert (renewed.period_end - renewed.period_start).days + 1 in (365, 366)
    annual_price = Decimal(4800) * 2 * 12
    assert renewed.amount_paid == annual_price
    # The month just paid, but for today (the change day counts as used), is credited
    # against the year.
    days = subscription.period_days
    credit = Fraction(subscription.amount_paid) * (days - 1) / days
    assert change.amount_due == round_up(Fraction(annual_price) - credit, "JPY")
    with pytest.raises(SamePlan):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner, cycle="annual")
    with pytest.raises(InvalidChoice):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner, cycle="weekly")


def test_a_change_after_the_period_ended_renews_it_first(db) -> None:
    organisation, owner = make_organisation("professional", seats=1)
    subscription = Subscription.objects.get(organisation=organisation)
    later = subscription.period_end + timedelta(days=3)
    change = plan_changes.change_plan(organisation, "standard", acting_user=owner, today=later)
    renewed = Subscription.objects.get(organisation=organisation)
    assert renewed.period_start == subscription.period_end + timedelta(days=1)
    assert renewed.period_start <= later <= renewed.period_end
    assert change.period_end == renewed.period_end
    assert change.refund_quote > 0
    assert AuditEvent.objects.filter(
        organisation=organisation, action="subscription.renewed"
    ).exists()


def test_the_next_bill_is_the_list_price_of_the_period_after(db) -> None:
    """An annual Standard organisation with 2 seats: its next bill, and the one a move to
    Professional would bring, fall on the day after the period, at the catalogue's annual
    rates (¥1,680 and ¥2,760 per seat per month, paid for 12 months)."""
    organisation, _owner = make_organisation("standard", seats=2, cycle="annual")
    subscription = Subscription.objects.select_related("plan").get(organisation=organisation)
    next_year = subscription.period_end + timedelta(days=1)
    assert next_year == subscription.period_start.replace(year=subscription.period_start.year + 1)

    assert periods.next_bill(subscription) == periods.Bill(
        next_year, Decimal(1_680 * 2 * 12), "JPY", "annual"
    )
    preview = previews.preview_plan_change(organisation, "professional")
    assert preview.new_price == 2_760 * 2 * 12
    assert preview.next_bill == periods.Bill(next_year, Decimal(66_240), "JPY", "annual")
    # A period that ended before its renewal ran: the next bill is after the one today is in.
    later = periods.next_bill(subscription, today=next_year + timedelta(days=3))
    assert later.due_on == next_year.replace(year=next_year.year + 1)
    assert later.amount == 1_680 * 2 * 12


def test_feedback_is_kept_with_the_change(northwind: Site) -> None:
    primary = northwind.user("primary")
    change = plan_changes.change_plan(
        northwind.organisation,
        "professional",
        acting_user=primary,
        feedback_reason="too_expensive",
        feedback_text="  Budget cuts  ",
    )
    assert (change.feedback_reason, change.feedback_text) == ("too_expensive", "Budget cuts")
    plan_changes.share_feedback(
        change, acting_user=primary, reason="unused_features", text="No chat"
    )
    change.refresh_from_db()
    assert (change.feedback_reason, change.feedback_text) == ("unused_features", "No chat")
    with pytest.raises(InvalidChoice):
        plan_changes.share_feedback(change, acting_user=primary, reason="spite")
    with pytest.raises(NotSubscriptionManager):
        plan_changes.share_feedback(change, acting_user=northwind.user("agent"), reason="other")


def test_each_kind_of_change_has_its_own_reasons() -> None:
    upgrade = set(FeedbackReason.for_kind(ChangeKind.UPGRADE))
    downgrade = set(FeedbackReason.for_kind(ChangeKind.DOWNGRADE))
    assert upgrade & downgrade == {FeedbackReason.OTHER}
    assert FeedbackReason.TOO_EXPENSIVE in downgrade and FeedbackReason.NEED_FEATURES in upgrade
    assert set(FeedbackReason) == upgrade | downgrade  # every reason is offered somewhere


@pytest.mark.parametrize(
    ("plan", "misfit", "fitting"),
    [
        ("enterprise", "too_expensive", "need_features"),
        ("professional", "more_agents", "temporary"),
    ],
    ids=["downgrade-reason-on-an-upgrade", "upgrade-reason-on-a-downgrade"],
)
def test_a_feedback_reason_must_fit_the_kind_of_change(
    northwind: Site, plan: str, misfit: str, fitting: str
) -> None:
    primary = northwind.user("primary")
    if plan == "enterprise":  # northwind is on Enterprise: move down first to move up
        plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    change = plan_changes.change_plan(northwind.organisation, plan, acting_user=primary)
    events = AuditEvent.objects.count()

    with pytest.raises(FeedbackReasonNotForChange) as refused:
        plan_changes.share_feedback(change, acting_user=primary, reason=misfit, text="Why")

    assert refused.value.status == 400
    assert str(FeedbackReason(misfit).label) in str(refused.value)
    assert str(FeedbackReason(fitting).label) in str(refused.value)  # what would fit
    change.refresh_from_db()
    assert (change.feedback_reason, change.feedback_text) == ("", "")
    assert AuditEvent.objects.count() == events
    plan_changes.share_feedback(change, acting_user=primary, reason=fitting)
    change.refresh_from_db()
    assert change.feedback_reason == fitting


def test_an_unknown_plan_is_a_clear_error(northwind: Site) -> None:
    with pytest.raises(UnknownPlan, match="free, standard, professional, enterprise"):
        plan_changes.change_plan(northwind.organisation, "platinum", acting_user=None)


def test_seats_are_bounded_by_the_plan(db) -> None:
    organisation, owner = make_organisation("standard", seats=2)
    with pytest.raises(InvalidSeats):
        plan_changes.change_plan(organisation, "free", acting_user=owner, seats=4)
    with pytest.raises(InvalidSeats):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner, seats=0)
    with schema_context(organisation.schema_name):
        add_user(email="second@x.test", acting_user=None)
        with pytest.raises(SeatsExhausted):
            add_user(email="third@x.test", acting_user=None)


def test_bought_seats_move_with_the_plan(db) -> None:
    organisation, owner = make_organisation("enterprise", seats=2)
    # A downgrade that adds seats would never be charged ...
    with pytest.raises(SeatsAgainstTheChange):
        plan_changes.change_plan(organisation, "professional", acting_user=owner, seats=1000)
    plan_changes.change_plan(organisation, "professional", acting_user=owner)  # keeps 2 seats
    # ... and an upgrade that removes seats would never be refunded.
    with pytest.raises(SeatsAgainstTheChange):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner, seats=1)
    with pytest.raises(InvalidSeats):
        plan_changes.change_plan(organisation, "enterprise", acting_user=owner, seats=10**11)
    change = plan_changes.change_plan(organisation, "enterprise", acting_user=owner, seats=3)
    assert change.amount_due > 0 and change.seats_after == 3
