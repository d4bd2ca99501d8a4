"""Operators' subscription commands: change_plan, subscriptions, refunds and audit."""

from __future__ import annotations

import csv
import datetime
import json
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import deactivate_user
from audit.models import AuditEvent
from organisations.services import create_organisation
from portal.models import Organisation
from subscriptions.models import PlanChange, RefundRequest, Subscription
from subscriptions.services import plan_changes, refunds
from tests.conftest import owner_role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def subscription(organisation: Organisation) -> Subscription:
    return Subscription.objects.select_related("plan").get(organisation=organisation)


def active_emails(organisation: Organisation) -> set[str]:
    with schema_context(organisation.schema_name):
        return set(User.objects.filter(is_active=True).values_list("email", flat=True))


def state(organisation: Organisation) -> tuple[Any, ...]:
    """Everything a plan change could touch, to prove that nothing was."""
    sub = subscription(organisation)
    return (
        sub.plan.code,
        sub.cycle,
        sub.seats,
        sub.paid_daily,
        sub.upgrade_charges,
        PlanChange.objects.count(),
        AuditEvent.objects.count(),
        RefundRequest.objects.count(),
        active_emails(organisation),
    )


def expected_refund(organisation: Organisation, new_period_price: Decimal) -> Decimal:
    """docs/domain.md: max(0, (paid_daily - new_daily) * R), rounded down to the yen."""
    sub = subscription(organisation)
    days = (sub.period_end - sub.period_start).days + 1
    new_daily = (new_period_price / days).quantize(Decimal("1e-12"), rounding=ROUND_FLOOR)
    remaining = (sub.period_end - timezone.localdate()).days
    return max(Decimal(0), (sub.paid_daily - new_daily) * remaining).quantize(
        Decimal(1), rounding=ROUND_FLOOR
    )


# --- change_plan ------------------------------------------------------------------------


def test_change_plan_dry_run_prints_the_preview_and_changes_nothing(northwind) -> None:
    organisation = northwind.organisation
    before = state(organisation)
    # Enterprise → Professional, 10 seats monthly: 60,000 paid, 42,000 for the new plan.
    refund = expected_refund(organisation, Decimal(4200 * 10))
    assert refund > 0

    output = run("change_plan", "northwind", "professional", "--dry-run")

    lines = output.splitlines()
    assert lines[0] == "northwind: enterprise (monthly) → professional (monthly), downgrade"
    assert lines[1] == "allowed"
    assert "seats: 10 → 10, 4 active users" in output
    assert f"refund quote: JPY {refund:,}; amount due: JPY 0" in output
    assert "features lost: live_chat, multi_brand_help_centre, custom_modules, sandbox" in lines
    assert state(organisation) == before


def test_change_plan_dry_run_prints_the_amount_due_of_a_cycle_change(northwind) -> None:
    """Monthly → annual starts a new year today; the unused month (today counts as used,
    as in every quote) is credited against the year's price, and the rest is due."""
    organisation = northwind.organisation
    before = state(organisation)
    sub = subscription(organisation)
    unused_days = (sub.period_end - timezone.localdate()).days
    due = (Decimal(4800 * 10 * 12) - sub.paid_daily * unused_days).quantize(
        Decimal(1), rounding=ROUND_CEILING
    )

    output = run("change_plan", "northwind", "enterprise", "--cycle", "annual", "--dry-run")

    lines = output.splitlines()
    assert lines[:2] == ["northwind: enterprise (monthly) → enterprise (annual), cycle", "allowed"]
    assert f"refund quote: JPY 0; amount due: JPY {due:,}" in output
    assert state(organisation) == before


def test_change_plan_dry_run_of_a_refused_move_says_why_and_changes_nothing(northwind) -> None:
    before = state(northwind.organisation)
    output = run("change_plan", "northwind", "standard", "--dry-run")
    assert output.splitlines()[1].startswith("refused: ")
    assert "downgrade to Professional first" in output
    assert state(northwind.organisation) == before


def test_change_plan_dry_run_shows_the_seats_to_give_up_and_deactivates_nobody(northwind) -> None:
    before = state(northwind.organisation)
    output = run("change_plan", "northwind", "free", "--dry-run")
    assert "allowed" in output.splitlines()
    assert "seats: 10 → 3, 4 active users" in output
    assert "1 active users must be deactivated (not deleted): choose with --keep-agent" in output
    assert state(northwind.organisation) == before


def test_change_plan_changes_the_plan_and_records_it_as_the_command(northwind) -> None:
    organisation = northwind.organisation
    refund = expected_refund(organisation, Decimal(4200 * 10))
    changes, events = PlanChange.objects.count(), AuditEvent.objects.count()

    output = run("change_plan", "northwind", "professional")

    assert "northwind is now on professional (monthly, 10 seats)." in output
    sub = subscription(organisation)
    assert (sub.plan.code, sub.cycle, sub.seats) == ("professional", "monthly", 10)
    change = PlanChange.objects.get(organisation=organisation)
    assert PlanChange.objects.count() == changes + 1
    assert (change.from_plan.code, change.to_plan.code, change.kind) == (
        "enterprise",
        "professional",
        "downgrade",
    )
    assert (change.actor_kind, change.actor_id, change.actor_email) == ("command", None, "")
    assert change.refund_quote == refund and change.amount_due == 0
    assert change.deactivated_user_ids == []
    new_events = AuditEvent.objects.order_by("id")[events:]
    assert [event.action for event in new_events] == ["plan.changed"]
    event = new_events[0]
    assert (event.organisation_id, event.actor_kind, event.target) == (
        organisation.pk,
        "command",
        f"plan_change:{change.pk}",
    )
    assert event.before["plan"] == "enterprise" and event.after["plan"] == "professional"
    assert not RefundRequest.objects.exists()  # a refund is only ever requested
    assert active_emails(organisation) == {
        northwind.email(role) for role in ("primary", "super", "admin", "agent")
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "professional"], "There is no organisation “nowhere”"),
        (["northwind", "platinum"], "There is no plan “platinum”"),
        (["northwind", "standard"], "downgrade to Professional first"),
        (["northwind", "enterprise"], "already on the Enterprise plan"),
        (["northwind", "free", "--keep-agent", "primary@northwind.test", "--dry-run"], None),
    ],
    ids=["unknown-org", "unknown-plan", "enterprise-to-standard", "same-plan", "dry-run"],
)
def test_change_plan_refuses_and_changes_nothing(
    northwind, contoso, args: list[str], message: str | None
) -> None:
    before = state(northwind.organisation), state(contoso.organisation)
    if message is None:
        run("change_plan", *args)  # the dry run of a change that would be refused later
    else:
        with pytest.raises(CommandError, match=message):
            run("change_plan", *args)
    assert (state(northwind.organisation), state(contoso.organisation)) == before


def test_change_plan_to_fewer_seats_than_active_users_needs_keep_agent(northwind) -> None:
    before = state(northwind.organisation)
    with pytest.raises(CommandError, match="3 seats but 4 users are active"):
        run("change_plan", "northwind", "free")
    assert state(northwind.organisation) == before


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (["primary", "nobody"], "No user with the email nobody@northwind.test in northwind"),
        (["primary", "contoso:agent"], "No user with the email agent@contoso.test in northwind"),
        (["primary", "super", "inactive"], "not active users of this organisation"),
        (["super", "admin", "agent"], "the primary contact always stays active"),
        (["primary", "super", "admin", "agent"], "choose at most 3 users"),
    ],
    ids=["unknown-email", "other-organisation", "inactive", "without-primary", "too-many"],
)
def test_change_plan_refuses_a_bad_keep_list_and_changes_nothing(
    northwind, contoso, keep: list[str], message: str
) -> None:
    emails = [
        contoso.email(role.split(":")[1]) if role.startswith("contoso:") else northwind.email(role)
        for role in keep
    ]
    before = state(northwind.organisation)
    with pytest.raises(CommandError, match=message):
        run("change_plan", "northwind", "free", *[f"--keep-agent={email}" for email in emails])
    assert state(northwind.organisation) == before


def test_change_plan_with_keep_agent_deactivates_exactly_the_others(northwind) -> None:
    organisation = northwind.organisation
    events = AuditEvent.objects.count()

    output = run(
        "change_plan",
        "northwind",
        "free",
        "--keep-agent",
        "primary@northwind.test",
        "--keep-agent",
        " Super@Northwind.TEST ",
        "--keep-agent",
        "agent@northwind.test",
    )

    assert "northwind is now on free (monthly, 3 seats)." in output
    assert subscription(organisation).plan.code == "free"
    assert active_emails(organisation) == {
        northwind.email("primary"),
        northwind.email("super"),
        northwind.email("agent"),
    }
    with schema_context(organisation.schema_name):
        admin = User.objects.get(pk=northwind.user_ids["admin"])  # kept, not deleted
        assert not admin.is_active
        assert User.objects.count() == 5
    change = PlanChange.objects.get(organisation=organisation)
    assert change.deactivated_user_ids == [northwind.user_ids["admin"]]
    assert change.actor_kind == "command"
    new_events = list(AuditEvent.objects.order_by("id")[events:])
    assert [(e.action, e.target, e.actor_kind) for e in new_events] == [
        ("user.seat_deactivated", f"user:{northwind.user_ids['admin']}", "command"),
        ("plan.changed", f"plan_change:{change.pk}", "command"),
    ]


# --- subscriptions ----------------------------------------------------------------------


def _new_organisation(slug: str, **kwargs: Any) -> Organisation:
    return create_organisation(
        name=slug.capitalize(), slug=slug, primary_contact_email=f"primary@{slug}.test", **kwargs
    ).organisation


def test_subscriptions_lists_one_row_per_organisation(northwind, contoso) -> None:
    annual = _new_organisation("fabrikam", plan_code="standard", seats=5, cycle="annual")
    expected = {
        "contoso": [
            "enterprise",
            "monthly",
            "4",
            "10",
            str(subscription(contoso.organisation).period_end),
        ],
        "fabrikam": ["standard", "annual", "1", "5", str(subscription(annual).period_end)],
        "northwind": [
            "enterprise",
            "monthly",
            "4",
            "10",
            str(subscription(northwind.organisation).period_end),
        ],
    }
    assert (subscription(annual).period_end - timezone.localdate()).days in (364, 365)

    table = run("subscriptions").splitlines()
    assert table[0].split() == [
        "organisation",
        "plan",
        "cycle",
        "seats_used",
        "seats_licensed",
        "period_end",
    ]
    assert {line.split()[0]: line.split()[1:] for line in table[1:]} == expected
    assert len(table) == 1 + Organisation.objects.count()

    rows = list(csv.DictReader(StringIO(run("subscriptions", "--format", "csv"))))
    assert {
        row["organisation"]: [
            row[c] for c in ("plan", "cycle", "seats_used", "seats_licensed", "period_end")
        ]
        for row in rows
    } == expected
    assert len(rows) == 3

    data = json.loads(run("subscriptions", "--format=json"))
    started = subscription(annual).period_start
    assert {row["organisation"]: row for row in data}["fabrikam"] == {
        "organisation": "fabrikam",
        "plan": "standard",
        "cycle": "annual",
        "seats_used": 1,
        "seats_licensed": 5,
        "period_end": str(subscription(annual).period_end),
        "name": "Fabrikam",
        "currency": "JPY",
        "period_start": str(started),
        "anchor_day": started.day,
        "anchor_month": started.month,  # annual: the month too
        "scheduled_change": None,
        "payment_method": None,  # no card on file
        "status": "active",  # its renewals paid
        "past_due_since": None,
    }
    assert sorted(row["organisation"] for row in data) == sorted(expected)


def test_subscriptions_counts_only_active_users_as_seats_used(northwind) -> None:
    with schema_context(northwind.organisation.schema_name):
        deactivate_user(northwind.user("agent"), acting_user=None)
    data = json.loads(run("subscriptions", "--format", "json"))
    northwind_row = next(row for row in data if row["organisation"] == "northwind")
    assert (northwind_row["seats_used"], northwind_row["seats_licensed"]) == (3, 10)


def test_subscriptions_filters_by_plan(northwind, contoso) -> None:
    _new_organisation("fabrikam", plan_code="standard", seats=5)
    rows = json.loads(run("subscriptions", "--plan", "standard", "--format", "json"))
    assert [row["organisation"] for row in rows] == ["fabrikam"]
    rows = json.loads(run("subscriptions", "--plan", "enterprise", "--format", "json"))
    assert [row["organisation"] for row in rows] == ["contoso", "northwind"]
    assert run("subscriptions", "--plan", "professional").strip() == "No organisations."
    assert run("subscriptions", "--plan", "professional", "--format", "csv").strip() == (
        "organisation,plan,cycle,seats_used,seats_licensed,period_end"
    )


def test_subscriptions_plan_filter_accepts_what_it_validates(northwind, contoso) -> None:
    rows = json.loads(run("subscriptions", "--plan", "Enterprise", "--format", "json"))
    assert [row["organisation"] for row in rows] == ["contoso", "northwind"]


def test_subscriptions_refuses_an_unknown_plan(northwind) -> None:
    with pytest.raises(CommandError, match="There is no plan “bogus”"):
        run("subscriptions", "--plan", "bogus")


@pytest.mark.parametrize("extra", [[], ["--plan", "enterprise"]], ids=["all", "by-plan"])
def test_subscriptions_runs_the_same_number_of_queries_for_any_number_of_organisations(
    northwind, contoso, extra: list[str]
) -> None:
    def count_queries() -> tuple[int, int]:
        # A first run lets django-tenants set the search path, which is not the command's.
        run("subscriptions", "--format", "json", *extra)
        with CaptureQueriesContext(connection) as queries:
            output = run("subscriptions", "--format", "json", *extra)
        return len(queries), len(json.loads(output))

    queries_for_two, rows = count_queries()
    assert rows == 2
    for slug in ("tailspin", "litware", "adventure-works"):
        _new_organisation(slug, plan_code="enterprise", seats=4)
    queries_for_five, rows = count_queries()
    assert rows == 5
    assert queries_for_five == queries_for_two


# --- refunds ----------------------------------------------------------------------------


def _request_refund(site: Any) -> RefundRequest:
    """An Enterprise → Professional downgrade by the primary contact, who asks for its
    refund (the customer's side, through the services)."""
    contact = site.user("primary")
    change = plan_changes.change_plan(site.organisation, "professional", acting_user=contact)
    assert change.refund_quote > 0
    return refunds.request_refund(change, acting_user=contact)


@pytest.fixture
def pending(northwind) -> RefundRequest:
    return _request_refund(northwind)


def refund_state(refund: RefundRequest) -> tuple[Any, ...]:
    fresh = RefundRequest.objects.get(pk=refund.pk)
    return (
        fresh.status,
        fresh.decided_by,
        fresh.decision_note,
        fresh.payment_reference,
        AuditEvent.objects.count(),
    )


def test_refunds_list_shows_each_request_in_every_format(pending) -> None:
    table = run("refunds", "list").splitlines()
    assert table[0].split() == [
        "id",
        "organisation",
        "amount",
        "tax",
        "total",
        "currency",
        "status",
        "requested_by",
        "requested_at",
        "change",
    ]
    assert len(table) == 2
    cells = table[1].split()
    assert cells[:8] == [
        str(pending.pk),
        "northwind",
        f"{pending.amount:.0f}",  # yen have no decimals
        f"{pending.tax:.0f}",
        f"{pending.amount + pending.tax:.0f}",
        "JPY",
        "pending",
        "primary@northwind.test",
    ]
    assert cells[-1] == "enterprise→professional"

    (row,) = csv.DictReader(StringIO(run("refunds", "list", "--format", "csv")))
    assert (row["id"], row["organisation"], row["status"], row["change"]) == (
        str(pending.pk),
        "northwind",
        "pending",
        "enterprise→professional",
    )
    assert Decimal(row["amount"]) == pending.amount == pending.plan_change.refund_quote

    (item,) = json.loads(run("refunds", "list", "--format", "json"))
    assert item["id"] == pending.pk
    assert Decimal(item["amount"]) == pending.amount
    assert (item["currency"], item["requested_by"]) == ("JPY", "primary@northwind.test")
    requested_at = datetime.datetime.fromisoformat(item["requested_at"])
    assert abs(requested_at - pending.requested_at) < datetime.timedelta(seconds=1)


def test_refunds_list_filters_by_status(pending, contoso) -> None:
    rejected = _request_refund(contoso)
    run("refunds", "reject", str(rejected.pk), "--note", "Paid by invoice already.")

    def listed(*args: str) -> list[tuple[int, str]]:
        rows = json.loads(run("refunds", "list", "--format", "json", *args))
        return [(row["id"], row["status"]) for row in rows]

    assert listed("--status", "pending") == [(pending.pk, "pending")]
    assert listed("--status", "rejected") == [(rejected.pk, "rejected")]
    assert listed("--status", "approved") == []
    assert listed() == [(rejected.pk, "rejected"), (pending.pk, "pending")]  # newest first
    assert run("refunds", "list", "--status", "refunded").strip() == "No refund requests."
    with pytest.raises(CommandError, match="invalid choice"):
        run("refunds", "list", "--status", "paid")


def test_refunds_approve_then_mark_refunded(pending) -> None:
    events = AuditEvent.objects.count()

    output = run("refunds", "approve", str(pending.pk), "--note", "Within policy.")
    assert f"Refund request {pending.pk} is now approved." in output
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.decided_by, refund.decision_note) == (
        "approved",
        "command",
        "Within policy.",
    )

    output = run("refunds", "mark-refunded", str(pending.pk), "--reference", "PAY-2024-0042")
    assert f"Refund request {pending.pk} is now refunded." in output
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.payment_reference) == ("refunded", "PAY-2024-0042")
    assert refund.amount == pending.amount

    new_events = list(AuditEvent.objects.order_by("id")[events:])
    assert [(e.action, e.actor_kind, e.target) for e in new_events] == [
        ("refund.approved", "command", f"refund:{pending.pk}"),
        ("refund.refunded", "command", f"refund:{pending.pk}"),
    ]
    approved, refunded = new_events
    assert (approved.before["status"], approved.after["status"]) == ("pending", "approved")
    assert approved.after["note"] == "Within policy."
    assert (refunded.before["status"], refunded.after["status"]) == ("approved", "refunded")
    assert refunded.after["payment_reference"] == "PAY-2024-0042"
    assert all(e.organisation_id == pending.organisation_id for e in new_events)


def test_refunds_reject_needs_a_note(pending) -> None:
    before = refund_state(pending)
    with pytest.raises(CommandError, match="--note"):
        run("refunds", "reject", str(pending.pk))
    with pytest.raises(CommandError, match="Give a note explaining the decision"):
        run("refunds", "reject", str(pending.pk), "--note", "   ")
    assert refund_state(pending) == before


def test_refunds_reject_with_a_note(pending) -> None:
    events = AuditEvent.objects.count()
    output = run("refunds", "reject", str(pending.pk), "--note", " Outside the period. ")
    assert f"Refund request {pending.pk} is now rejected." in output
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.decided_by, refund.decision_note) == (
        "rejected",
        "command",
        "Outside the period.",
    )
    (event,) = AuditEvent.objects.order_by("id")[events:]
    assert (event.action, event.actor_kind, event.target) == (
        "refund.rejected",
        "command",
        f"refund:{pending.pk}",
    )
    assert event.after["note"] == "Outside the period."


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            [],
            ["mark-refunded", "--reference", "PAY-1"],
            "A refund request that is pending cannot be refunded.",
        ),
        (
            [["reject", "--note", "No."]],
            ["approve"],
            "A refund request that is rejected cannot be approved.",
        ),
        (
            [["approve"], ["mark-refunded", "--reference", "PAY-1"]],
            ["reject", "--note", "Changed my mind."],
            "A refund request that is refunded cannot be rejected.",
        ),
        ([["approve"]], ["approve"], "This refund request is already approved."),
        ([["approve"]], ["mark-refunded", "--reference", "  "], "Give the payment reference"),
    ],
    ids=[
        "refund-pending",
        "approve-rejected",
        "reject-refunded",
        "approve-twice",
        "blank-reference",
    ],
)
def test_refunds_illegal_moves_are_refused_and_change_nothing(
    pending, setup: list[list[str]], args: list[str], message: str
) -> None:
    for step in setup:
        run("refunds", step[0], str(pending.pk), *step[1:])
    before = refund_state(pending)
    with pytest.raises(CommandError, match=message):
        run("refunds", args[0], str(pending.pk), *args[1:])
    assert refund_state(pending) == before


@pytest.mark.parametrize("action", ["approve", "reject", "mark-refunded"])
def test_refunds_unknown_id_is_an_error(pending, action: str) -> None:
    before = refund_state(pending)
    extra = {"reject": ["--note", "x"], "mark-refunded": ["--reference", "x"]}.get(action, [])
    with pytest.raises(CommandError, match=f"There is no refund request {pending.pk + 1000}"):
        run("refunds", action, str(pending.pk + 1000), *extra)
    with pytest.raises(CommandError, match="invalid int value"):
        run("refunds", action, "first", *extra)
    assert refund_state(pending) == before


# --- audit ------------------------------------------------------------------------------


@pytest.fixture
def history(northwind, contoso) -> AuditEvent:
    """Fresh events in both organisations, and one old northwind event from 2020."""
    run("change_plan", "northwind", "professional")
    run("change_plan", "contoso", "professional")
    with owner_role():  # only the owner may date an event in the past
        return AuditEvent.objects.create(
            organisation=northwind.organisation,
            actor_kind="command",
            action="test.old_event",
            target="history",
            before={"x": 1},
            after={"x": 2},
            created_at=timezone.make_aware(datetime.datetime(2020, 1, 1, 0, 0)),
        )


def _jsonl(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_audit_exports_every_event_oldest_first(history) -> None:
    rows = list(csv.DictReader(StringIO(run("audit"))))
    assert len(rows) == AuditEvent.objects.count()
    times = [datetime.datetime.fromisoformat(row["created_at"]) for row in rows]
    assert times == sorted(times)
    assert rows[0]["action"] == "test.old_event"
    assert json.loads(rows[0]["after"]) == {"x": 2}
    changed = [row for row in rows if row["action"] == "plan.changed"]
    assert [(row["organisation"], row["actor_kind"]) for row in changed] == [
        ("northwind", "command"),
        ("contoso", "command"),
    ]
    assert json.loads(changed[0]["after"])["plan"] == "professional"

    lines = _jsonl(run("audit", "--format", "jsonl"))
    assert len(lines) == len(rows)
    assert [line["action"] for line in lines] == [row["action"] for row in rows]
    northwind_change = next(line for line in lines if line["action"] == "plan.changed")
    assert northwind_change["organisation"] == "northwind"
    assert northwind_change["before"]["plan"] == "enterprise"
    assert northwind_change["after"]["plan"] == "professional"


@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_audit_filters_by_organisation(history, northwind, output_format: str) -> None:
    output = run("audit", "--org", "northwind", "--format", output_format)
    rows = _jsonl(output) if output_format == "jsonl" else list(csv.DictReader(StringIO(output)))
    assert len(rows) == AuditEvent.objects.filter(organisation=northwind.organisation).count()
    assert {row["organisation"] for row in rows} == {"northwind"}
    assert "plan.changed" in {row["action"] for row in rows}
    assert AuditEvent.objects.exclude(organisation=northwind.organisation).exists()


def test_audit_since_keeps_events_on_or_after_the_day(history) -> None:
    rows = _jsonl(run("audit", "--since", "2020-01-01", "--format", "jsonl"))
    assert "test.old_event" in {row["action"] for row in rows}
    assert len(rows) == AuditEvent.objects.count()

    rows = _jsonl(run("audit", "--since", "2020-01-02", "--format", "jsonl"))
    assert "test.old_event" not in {row["action"] for row in rows}
    assert len(rows) == AuditEvent.objects.count() - 1

    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert _jsonl(run("audit", "--since", tomorrow, "--format", "jsonl")) == []
    assert list(csv.DictReader(StringIO(run("audit", "--since", tomorrow)))) == []


@pytest.mark.parametrize("since", ["2024-13-01", "yesterday", "01/02/2024"])
def test_audit_refuses_a_bad_date(northwind, since: str) -> None:
    with pytest.raises(CommandError, match="--since takes a date as YYYY-MM-DD"):
        run("audit", "--since", since)


def test_audit_refuses_an_unknown_organisation(northwind) -> None:
    with pytest.raises(CommandError, match="There is no organisation “nowhere”"):
        run("audit", "--org", "nowhere")
