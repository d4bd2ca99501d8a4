"""The Store: where the primary contact or a super admin changes the plan (the seed's
path: account menu → Subscription management → the Store in a new tab → hover the current
plan → Upgrade/Downgrade plan → a plan → Confirm → the result, with feedback and a
prorated refund request). Thin views over subscriptions.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import can_manage_subscription, hidden_departments, list_active_users
from accounts.views import organisation_page
from portal import clock
from portal.http import OrganisationRequest
from portal.idempotency import idempotent, new_key
from portal.refusals import answered
from subscriptions import stripe_gateway
from subscriptions.exceptions import (
    AuthenticationRequired,
    InvalidSeats,
    SeatsAgainstTheChange,
    UnknownPlan,
)
from subscriptions.forms import (
    BillingDetailsForm,
    ChangeOptionsForm,
    ConfirmChangeForm,
    FeedbackForm,
)
from subscriptions.models import (
    BillingCycle,
    ChangeKind,
    PlanChange,
    RefundRequest,
    ScheduledChange,
)
from subscriptions.selectors import (
    catalogue,
    entitlements,
    invoices,
    ledger,
    offers,
    periods,
    previews,
    store,
)
from subscriptions.selectors.catalogue import MAX_SEATS
from subscriptions.selectors.payments import needs_card, payment_account_of
from subscriptions.selectors.refunds import refund_refusal
from subscriptions.selectors.scheduled_changes import cancelled_by, scheduled_change_of
from subscriptions.services import billing_details as billing_details_service
from subscriptions.services import changes, plan_changes, refunds, scheduled_changes
from subscriptions.views.provider import page_csp, script_url

store_page = organisation_page(can_manage_subscription)
# The Store page shows the latest of its histories (selectors.store.ON_HOME); their own
# pages show them all, a page at a time.
HISTORY_PER_PAGE = 25


@store_page
def home(request: OrganisationRequest) -> HttpResponse:
    organisation = request.organisation
    subscription = entitlements.subscription_of(organisation)
    scheduled = scheduled_change_of(organisation)
    cards_kept = stripe_gateway.in_use()
    histories = store.latest_histories(organisation)
    context = {
        "subscription": subscription,
        "scheduled": scheduled,
        "paid_for_period": ledger.paid_for_period(subscription),
        "next_bill": periods.next_bill(subscription, scheduled=scheduled),
        "seats_max": subscription.plan.seat_cap or MAX_SEATS,
        "billing": histories.billing,
        "seats_used": entitlements.seats_in_use(organisation),
        "changes": histories.changes,
        "refunds": histories.refunds,
        "activity": histories.activity,
        "plan_names": catalogue.plan_names(),
        "new_key": new_key,
        # The card on file, where payments go through the provider (one query then).
        "cards_kept": cards_kept,
        "card": payment_account_of(organisation) if cards_kept else None,
    }
    return render(request, "subscriptions/store/home.html", context)


@store_page
def history(request: OrganisationRequest) -> HttpResponse:
    """Every plan change, a page at a time (an odd ``?page=`` shows the nearest)."""
    changes = store.plan_changes_of(request.organisation)
    page = Paginator(changes, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "subscriptions/store/history.html", {"page": page})


@store_page
def billing(request: OrganisationRequest) -> HttpResponse:
    """The whole billing history, a page at a time."""
    lines = ledger.lines_of(request.organisation)
    page = Paginator(lines, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "subscriptions/store/billing.html", {"page": page})


@store_page
def plans(request: OrganisationRequest) -> HttpResponse:
    organisation = request.organisation
    context = {
        "subscription": entitlements.subscription_of(organisation),
        "offers": offers.store_offers(organisation),
    }
    return render(request, "subscriptions/store/plans.html", context)


@store_page
@idempotent
def confirm(request: OrganisationRequest, plan_code: str) -> HttpResponse:
    """The impact of the change, then Confirm (now) or, for a change that may wait, at the
    end of the period. The change may name other seats (``?seats=N``) or billing cycle
    (``?cycle=annual``): on the current plan that is a seat change or a switch of cycle. A
    confirmation is made by the service, which previews the change under its lock and
    makes it only if its figures are still the ones the page showed (the form's
    ``promise``); the page's own preview is computed only to show it (a GET, or a refused
    confirmation, answered with the page, its new figures and the reason: 409 when the
    figures moved, 400 otherwise, having changed nothing)."""
    organisation = request.organisation
    options = ChangeOptionsForm(request.POST if request.method == "POST" else request.GET)
    options.is_valid()  # what is not valid is left out, and said
    seats, cycle = options.cleaned_data.get("seats"), options.cleaned_data.get("cycle") or None
    problems = [options.problem()]
    status = 200
    authenticate = None  # the card asks the customer to confirm the payment (3-D Secure)
    if request.method == "POST":
        status = 400  # unless the change is made
        choice = ConfirmChangeForm(request.POST, active_users=list_active_users())
        if not problems[0] and choice.is_valid():
            with answered(request, problems=problems) as refusal:
                return _make_change(request, plan_code, choice, seats=seats, cycle=cycle)
            status = refusal.status
            if isinstance(refusal.error, AuthenticationRequired):
                authenticate = refusal.error
    with answered(request) as refusal:  # e.g. the plan has no price in this currency
        try:
            preview = previews.preview_plan_change(
                organisation, plan_code, seats=seats, cycle=cycle
            )
        except UnknownPlan as error:
            raise Http404(str(error)) from None
        except InvalidSeats as error:  # out of the plan's bounds: show the default instead
            problems.append(str(error))
            seats = None
            preview = previews.preview_plan_change(organisation, plan_code, cycle=cycle)
    if refusal:
        return HttpResponseRedirect(reverse("store_plans"))
    if seats is not None and isinstance(preview.refusal, SeatsAgainstTheChange):
        # Seats the change may not have (more on a downgrade, fewer on an upgrade): say
        # so, and offer the change with the seats it keeps by default.
        problems.append(str(preview.refusal))
        preview = previews.preview_plan_change(organisation, plan_code, cycle=cycle)
    for problem in dict.fromkeys(filter(None, problems)):  # each once
        messages.error(request, problem)
    active_users = list_active_users() if preview.seats_over else None
    form = ConfirmChangeForm(
        request.POST or None,
        active_users=active_users,
        # The person confirming stays by default (the primary contact always does).
        initial={"keep": [user for user in active_users or [] if user.pk == request.user.pk]},
    )
    # The new limits that hide some of what the organisation has, by feature.
    hides = {impact.feature.code: impact.limit for impact in preview.limits_exceeded}
    context = {
        "preview": preview,
        "form": form,
        "scheduled": scheduled_change_of(organisation),
        "hidden_departments": hidden_departments(hides.get("departments")),
        "new_key": new_key,
        # A change that takes money now asks for a card first, where cards are kept.
        "needs_card": preview.quote.due > 0 and needs_card(organisation),
        "authenticate": authenticate,
        # Payments through the provider in test mode say so on every page that takes money.
        "test_mode": stripe_gateway.test_payments(),
        "script_url": script_url() if authenticate else "",
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    response = render(request, "subscriptions/store/confirm.html", context, status=status)
    if authenticate:
        response["Content-Security-Policy"] = page_csp()
    return response


def _make_change(
    request: OrganisationRequest,
    plan_code: str,
    choice: ConfirmChangeForm,
    *,
    seats: int | None,
    cycle: str | None,
) -> HttpResponse:
    """Make the confirmed change now, or schedule it for the end of the period; the
    page that says so. Raises the domain error that refuses it."""
    done = changes.confirm_change(
        request.organisation,
        plan_code,
        at_period_end=choice.at_period_end,
        acting_user=request.user,
        seats=seats,
        cycle=cycle,
        keep_user_ids=choice.kept_user_ids(),
        promise=choice.promise_shown,
        idempotency_key=request.idempotency_key,
        authenticated_payment=choice.cleaned_data.get("authenticated_payment") or "",
    )
    if isinstance(done, ScheduledChange):
        messages.success(request, _scheduled(done))
        return HttpResponseRedirect(reverse("store_home") + "#scheduled")
    change = done
    messages.success(request, _done(change))
    return HttpResponseRedirect(reverse("store_result", args=[change.pk]))


def _done(change: PlanChange) -> str:
    """What the result page says was done."""
    plan = change.to_plan.name
    if change.kind == ChangeKind.SEATS:
        return _("Your organisation now has %(seats)s seats on the %(plan)s plan.") % {
            "seats": change.seats_after,
            "plan": plan,
        }
    if change.kind == ChangeKind.CYCLE and change.to_cycle == BillingCycle.ANNUAL:
        return _("Your organisation is now billed yearly on the %(plan)s plan.") % {"plan": plan}
    if change.kind == ChangeKind.CYCLE:
        return _("Your organisation is now billed monthly on the %(plan)s plan.") % {"plan": plan}
    return _("Your organisation is now on the %(plan)s plan.") % {"plan": plan}


@require_POST
@store_page
@idempotent
def cancel_scheduled(request: OrganisationRequest) -> HttpResponse:
    """Cancel the change waiting for the end of the period: the plan renews as it is."""
    with answered(request):
        scheduled_changes.cancel_scheduled_change(request.organisation, acting_user=request.user)
        messages.success(
            request, _("The scheduled change was cancelled. Your plan renews as it is.")
        )
    return HttpResponseRedirect(reverse("store_home"))


def _scheduled(scheduled: ScheduledChange) -> str:
    """What the Store says of a change scheduled for the end of the period."""
    return _(
        "On %(date)s your organisation moves to the %(plan)s plan. Nothing changes until then."
    ) % {"date": date_format(scheduled.effective, "DATE_FORMAT"), "plan": scheduled.to_plan.name}


def _change(request: OrganisationRequest, pk: int) -> PlanChange:
    """The change with its refund request, if any (its page offers or shows it)."""
    changes = store.plan_changes_of(request.organisation).select_related("refund_request")
    return get_object_or_404(changes, pk=pk)


def _result_page(
    request: OrganisationRequest, change: PlanChange, feedback_form: FeedbackForm, status: int
) -> HttpResponse:
    refund = getattr(change, "refund_request", None)
    context = {
        "change": change,
        "refund": refund,
        "cancelled_schedule": cancelled_by(change),
        # The next bill speaks of today: only the latest change's page shows it; an older
        # change's page shows that change's own price, as it was.
        "next_bill": (
            periods.next_bill(entitlements.subscription_of(request.organisation))
            if store.is_latest_change(change)
            else None
        ),
        "documents": invoices.documents_of_change(change),
        "feedback_form": feedback_form,
        "may_request_refund": refund_refusal(change, today=clock.today(request.organisation))
        is None,
        "new_key": new_key,
    }
    return render(request, "subscriptions/store/result.html", context, status=status)


@store_page
def result(request: OrganisationRequest, pk: int) -> HttpResponse:
    """The change made: its money (the charge, or the refund that may be requested), the
    organisation's next bill, and the feedback form with the reasons that fit the change."""
    change = _change(request, pk)
    form = FeedbackForm(
        kind=change.kind,
        initial={"reason": change.feedback_reason, "text": change.feedback_text},
    )
    return _result_page(request, change, form, status=200)


@require_POST
@store_page
@idempotent
def feedback(request: OrganisationRequest, pk: int) -> HttpResponse:
    """Share why the plan changed. A reason that does not fit the change (or none) is
    answered with the result page and its error (400), and nothing is recorded."""
    change = _change(request, pk)
    form = FeedbackForm(request.POST, kind=change.kind)
    if not form.is_valid():
        messages.error(request, _("Choose a reason to share your feedback."))
        return _result_page(request, change, form, status=400)
    with answered(request) as refusal:
        plan_changes.share_feedback(change, acting_user=request.user, **form.cleaned_data)
        messages.success(request, _("Thank you for your feedback."))
        return HttpResponseRedirect(reverse("store_result", args=[change.pk]))
    return _result_page(request, change, form, status=refusal.status)


@require_POST
@store_page
@idempotent
def request_refund(request: OrganisationRequest, pk: int) -> HttpResponse:
    change = _change(request, pk)
    with answered(request):
        refunds.request_refund(change, acting_user=request.user)
        messages.success(
            request,
            _("Your refund request was sent. We will email you when it has been reviewed."),
        )
    return HttpResponseRedirect(reverse("store_home") + "#refunds")


@require_http_methods(["GET", "POST"])
@store_page
@idempotent
def withdraw_refund(request: OrganisationRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (a withdrawn request cannot be made again); POST withdraws."""
    refund = get_object_or_404(RefundRequest, pk=pk, organisation=request.organisation)
    if request.method == "GET":
        if not refunds.may_withdraw(refund):
            messages.info(request, _("This refund request can no longer be withdrawn."))
            return HttpResponseRedirect(reverse("store_home") + "#refunds")
        context = {"refund": refund, "new_key": new_key()}
        return render(request, "subscriptions/store/withdraw_refund.html", context)
    with answered(request):
        refunds.withdraw_refund(refund, acting_user=request.user)
        messages.success(request, _("Your refund request was withdrawn."))
    return HttpResponseRedirect(reverse("store_home") + "#refunds")


@require_http_methods(["GET", "POST"])
@store_page
@idempotent
def billing_details(request: OrganisationRequest) -> HttpResponse:
    """How invoices are addressed and to whom they are sent. A refused form is answered
    with itself and the reason (400), nothing saved."""
    organisation = request.organisation
    current = invoices.billing_details_of(organisation)
    initial = {
        "addressee": current.addressee,
        "attention": current.attention,
        "postal_address": current.postal_address,
        "emails": "\n".join(current.emails),
        "registration_number": current.registration_number,
    }
    form = BillingDetailsForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            with answered(request, form=form) as refusal:
                billing_details_service.set_billing_details(
                    organisation, acting_user=request.user, **form.cleaned_data
                )
                messages.success(request, _("Your billing details were saved."))
                return HttpResponseRedirect(reverse("store_billing_details"))
            status = refusal.status
    context = {"form": form, "new_key": new_key}
    return render(request, "subscriptions/store/billing_details.html", context, status=status)


@store_page
def invoice(request: OrganisationRequest, number: str) -> HttpResponse:
    """One of the organisation's invoices, ready to print (another's is not found)."""
    found = invoices.invoice_of(request.organisation, number)
    if found is None:
        raise Http404
    return render(request, "subscriptions/store/invoice.html", {"invoice": found})
