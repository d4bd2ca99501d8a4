"""Trials (subscriptions/services/trials.py): a new organisation starts on the top plan for
15 days, paying nothing; it is reminded 7 days and 1 day before the end; at the end it falls
back to Free by the rules dunning uses (nothing deleted, who keeps a seat by rule) unless a
plan was chosen, which is paid from that day. Walked with the test clock."""

from __future__ import annotations

import io
import itertools
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Department, User
from accounts.services import add_user, create_department
from audit.models import AuditEvent
from organisations.services import create_organisation
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import (
    NoteRequired,
    NotOnTrial,
    StaffPermissionRequired,
    TrialChangesNow,
    TrialDaysInvalid,
)
from subscriptions.models import ChangeKind, Invoice, LedgerLine, PlanChange, Subscription
from subscriptions.selectors.offers import store_offers
from subscriptions.selectors.previews import preview_plan_change
from subscriptions.services import plan_changes, scheduled_changes, trials
from subscriptions.services.clocks import advance_clock
from tests.conftest import PASSWORD, Site, queued_emails
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


@pytest.fixture
def sakura(catalogue: None) -> Site:
    """A new organisation on the trial a sign-up starts: its primary contact, a super
    admin, three agents (one who signed in lately) and two departments."""
    created = create_organisation(
        name="Sakura Support",
        slug=f"sakura-{next(_numbers)}",
        primary_contact_email="hana@sakura.test",
        primary_contact_name="佐藤 花子",
        primary_contact_password=PASSWORD,
        trial=True,
    )
    organisation = created.organisation
    ids = {"primary": created.primary_contact.pk}
    with schema_context(organisation.schema_name):
        for role in ("super", "agent1", "agent2", "agent3"):
            user = add_user(
                email=f"{role}@{organisation.slug}.test",
                full_name=role.capitalize(),
                password=PASSWORD,
                is_super_admin=role == "super",
                acting_user=None,
            )
            ids[role] = user.pk
        User.objects.filter(pk=ids["agent2"]).update(last_login=timezone.now())
        create_department(name="Support Tokyo", acting_user=None)
    return Site(Organisation.objects.get(pk=organisation.pk), ids)


def _subscription(site: Site) -> Subscription:
    return Subscription.objects.select_related("plan").get(organisation=site.organisation)


def _trial_end(site: Site) -> date:
    """The first day on Free."""
    end = _subscription(site).trial_ends_on
    assert end is not None
    return end


def _advance(site: Site, day: date) -> str:
    out = io.StringIO()
    call_command(
        "clock", "advance", "--org", site.organisation.slug, "--to", day.isoformat(), stdout=out
    )
    return out.getvalue()


def _emails(words: str) -> list[dict[str, Any]]:
    return [email for email in queued_emails() if words in email["subject"]]


def _active(site: Site) -> set[int]:
    with schema_context(site.organisation.schema_name):
        return set(User.objects.filter(is_active=True).values_list("pk", flat=True))


def test_a_new_organisation_starts_on_a_trial_of_the_top_plan_paying_nothing(
    sakura: Site,
) -> None:
    today = timezone.localdate()
    trial = _subscription(sakura)
    assert (trial.plan.code, trial.seats, trial.amount_paid) == ("enterprise", 10, 0)
    assert trial.trial_started_on == today
    assert trial.trial_ends_on == today + timedelta(days=15)
    assert trial.period_end == today + timedelta(days=14)  # its last day
    # Nothing was charged: no invoice, no ledger line.
    assert not Invoice.objects.filter(organisation=sakura.organisation).exists()
    assert not LedgerLine.objects.filter(organisation=sakura.organisation).exists()


def test_with_trials_off_a_new_organisation_starts_on_free(catalogue: None, settings: Any) -> None:
    settings.SUBSCRIPTIONS_TRIAL_DAYS = 0
    created = create_organisation(
        name="Ume", slug="ume", primary_contact_email="ume@ume.test", trial=True
    )
    subscription = Subscription.objects.get(organisation=created.organisation)
    assert (subscription.plan.code, subscription.trial_started_on) == ("free", None)


def test_the_dashboard_and_the_store_say_the_days_left_and_what_happens_then(
    sakura: Site,
) -> None:
    client = Client(HTTP_HOST=sakura.host, HTTP_ACCEPT_LANGUAGE="ja")
    with schema_context(sakura.organisation.schema_name):
        client.force_login(User.objects.get(pk=sakura.user_ids["primary"]))
    end = _trial_end(sakura)
    for path in ("/", "/store/"):
        page = client.get(path).content.decode()
        [notice] = re.findall(r'data-testid="trial">(.*?)</p>', page, re.S)
        assert "エンタープライズプランのトライアル：残り15日" in notice, path
        assert f"{end.year}年{end.month}月{end.day}日" in notice, path
        assert 'href="/store/plans/"' in notice, path
    # During the trial, every plan may be chosen, the one tried too, and none is a downgrade.
    offers = {offer.plan.code: offer for offer in store_offers(sakura.organisation)}
    assert offers["enterprise"].kind == offers["standard"].kind == ChangeKind.SUBSCRIBE
    assert offers["standard"].allowed  # not "downgrade to Professional first"
    plans = client.get("/store/plans/").content.decode()
    assert plans.count("このプランにする") == 3


def test_a_trial_walked_with_the_test_clock_reminds_twice_then_falls_back_to_free(
    sakura: Site,
) -> None:
    end = _trial_end(sakura)
    assert "reminded of its trial" not in _advance(sakura, end - timedelta(days=8))
    assert f"{sakura.organisation.slug}: reminded of its trial's end" in _advance(
        sakura, end - timedelta(days=7)
    )
    [week] = _emails("trial ends in 7 days")
    assert week["to"] == ["hana@sakura.test"] and week["body"].startswith("Dear 佐藤 花子,")
    assert "reminded of its trial" not in _advance(sakura, end - timedelta(days=3))  # once
    assert f"{sakura.organisation.slug}: reminded of its trial's end" in _advance(
        sakura, end - timedelta(days=1)
    )
    assert len(_emails("trial ends in 1 day")) == 1
    assert _subscription(sakura).plan.code == "enterprise"  # still the trial, its last day

    out = _advance(sakura, end)
    assert f"{sakura.organisation.slug}: trial ended, moved to Free" in out
    free = _subscription(sakura)
    assert (free.plan.code, free.seats, free.cycle) == ("free", 3, "monthly")
    assert (free.period_start, free.trial_ends_on, free.trial_started_on) == (
        end,
        None,
        end - timedelta(days=15),  # kept: one trial per organisation
    )
    # Dunning's rule: the primary contact, the super admin and the most recently active keep
    # their seats; the others are deactivated, never deleted.
    ids = sakura.user_ids
    assert _active(sakura) == {ids["primary"], ids["super"], ids["agent2"]}
    with schema_context(sakura.organisation.schema_name):
        assert User.objects.count() == 5 and Department.objects.count() == 2
    # Nothing was charged, ever; the move is a plan change of its own, audited.
    assert not Invoice.objects.filter(organisation=sakura.organisation).exists()
    change = PlanChange.objects.get(organisation=sakura.organisation)
    assert (change.kind, change.to_plan.code, change.amount_due, change.changed_on) == (
        ChangeKind.DOWNGRADE,
        "free",
        0,
        end,
    )
    assert sorted(change.deactivated_user_ids) == sorted([ids["agent1"], ids["agent3"]])
    assert AuditEvent.objects.filter(
        action="trial.ended", organisation=sakura.organisation
    ).exists()
    [ended] = _emails("trial has ended")
    assert "Nothing was deleted" in ended["body"] or "削除" in ended["body"]
    # The days after: Free renews as Free, nothing more happens to the trial.
    out = _advance(sakura, end + timedelta(days=40))
    assert "trial" not in out
    assert _subscription(sakura).plan.code == "free"


def test_a_plan_chosen_during_the_trial_is_paid_from_that_day_and_ends_it(
    sakura: Site,
) -> None:
    start = _trial_end(sakura) - timedelta(days=15)
    day = start + timedelta(days=5)
    advance_clock(sakura.organisation, day)
    primary = sakura.user("primary")
    preview = preview_plan_change(sakura.organisation, "professional", seats=5)
    assert preview.kind == ChangeKind.SUBSCRIBE and preview.new_period
    assert not preview.schedulable and not preview.reduces
    assert preview.quote.due == preview.new_price  # the whole first period, nothing credited
    change = plan_changes.change_plan(
        sakura.organisation, "professional", seats=5, acting_user=primary, today=day
    )
    assert change.kind == ChangeKind.SUBSCRIBE and change.amount_due == preview.new_price
    paid = _subscription(sakura)
    assert (paid.plan.code, paid.seats, paid.period_start, paid.billing_anchor) == (
        "professional",
        5,
        day,
        day,
    )
    assert paid.trial_ends_on is None and paid.trial_started_on == start
    [invoice] = Invoice.objects.filter(organisation=sakura.organisation)
    assert invoice.subtotal == preview.new_price and invoice.issued_on == day
    # The day the trial would have ended passes like any other.
    out = _advance(sakura, start + timedelta(days=16))
    assert "trial" not in out
    assert _subscription(sakura).plan.code == "professional"
    assert not AuditEvent.objects.filter(action="trial.ended").exists()


def test_the_trial_may_end_early_on_free_with_nothing_to_refund(sakura: Site) -> None:
    preview = preview_plan_change(sakura.organisation, "free")
    assert preview.kind == ChangeKind.DOWNGRADE and preview.quote.refund == 0
    assert not preview.schedulable  # its end is on Free already
    with pytest.raises(TrialChangesNow):
        scheduled_changes.schedule_change(
            sakura.organisation, "free", acting_user=sakura.user("primary")
        )
    ids = sakura.user_ids
    plan_changes.change_plan(
        sakura.organisation,
        "free",
        keep_user_ids=[ids["primary"], ids["agent1"], ids["agent3"]],
        acting_user=sakura.user("primary"),
    )
    free = _subscription(sakura)
    assert (free.plan.code, free.trial_ends_on) == ("free", None)
    assert _active(sakura) == {ids["primary"], ids["agent1"], ids["agent3"]}


def test_staff_extend_a_trial_with_a_reason_audited(sakura: Site) -> None:
    staff = StaffFactory.create(permissions=["change_subscription"])
    before = _subscription(sakura)
    with pytest.raises(StaffPermissionRequired):
        trials.extend_trial(
            sakura.organisation, days=7, note="Evaluating", acting_user=sakura.user("primary")
        )
    with pytest.raises(TrialDaysInvalid):
        trials.extend_trial(sakura.organisation, days=0, note="Evaluating", acting_user=staff)
    with pytest.raises(NoteRequired):
        trials.extend_trial(sakura.organisation, days=7, note=" ", acting_user=staff)
    assert _subscription(sakura).trial_ends_on == before.trial_ends_on  # nothing changed

    extended = trials.extend_trial(
        sakura.organisation, days=7, note="Evaluating with IT", acting_user=staff
    )
    assert extended.trial_ends_on == _trial_end(sakura)
    assert extended.trial_ends_on - timedelta(days=7) == before.trial_ends_on
    assert extended.period_end == before.period_end + timedelta(days=7)
    event = AuditEvent.objects.get(action="trial.extended")
    assert event.actor_email == staff.email and event.after["note"] == "Evaluating with IT"


def test_staff_extend_a_trial_from_the_organisations_page(sakura: Site) -> None:
    staff = StaffFactory.create(is_superuser=True)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    page = f"/admin/portal/organisation/{sakura.organisation.pk}/change/"
    assert 'data-testid="trial"' in client.get(page).content.decode()
    url = f"/admin/portal/organisation/{sakura.organisation.pk}/extend-trial/"
    refused = client.post(url, {"days": "500", "note": "x"}, follow=True)
    assert "The extension is not valid" in refused.content.decode()
    done = client.post(url, {"days": "10", "note": "Procurement"}, follow=True)
    end = _trial_end(sakura)
    assert end == clock.today(sakura.organisation) + timedelta(days=25)
    assert "The trial now lasts until" in done.content.decode()


def test_a_trial_that_has_ended_cannot_be_extended_or_had_again(sakura: Site) -> None:
    staff = StaffFactory.create(permissions=["change_subscription"])
    _advance(sakura, _trial_end(sakura))
    with pytest.raises(NotOnTrial):
        trials.extend_trial(sakura.organisation, days=7, note="Again", acting_user=staff)
    assert _subscription(sakura).trial_started_on is not None  # one trial per organisation
