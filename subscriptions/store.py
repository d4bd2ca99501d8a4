"""The Store: where the primary contact or a super admin changes the plan (the seed's
path: account menu → Subscription management → the Store in a new tab → hover the current
plan → Upgrade/Downgrade plan → a plan → Confirm → the result, with feedback and a
prorated refund request). Thin views over subscriptions.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import can_manage_subscription, list_active_users
from accounts.views import organisation_page
from portal.exceptions import DomainError
from portal.http import OrganisationRequest
from portal.idempotency import idempotent, new_key
from subscriptions.exceptions import InvalidSeats, SeatsAgainstTheChange, UnknownPlan
from subscriptions.forms import ConfirmChangeForm, FeedbackForm
from subscriptions.models import PlanChange, RefundRequest
from subscriptions.selectors import catalogue, entitlements, invoices, ledger, previews, store
from subscriptions.services import plan_changes, refunds

store_page = organisation_page(can_manage_subscription)


@store_page
def home(request: OrganisationRequest) -> HttpResponse:
    organisation = request.organisation
    subscription = entitlements.subscription_of(organisation)
    context = {
        "subscription": subscription,
        "paid_for_period": ledger.paid_for_period(subscription),
        "billing": ledger.lines_of(organisation)[:50],
        "seats_used": entitlements.seats_in_use(organisation),
        "changes": store.plan_changes_of(organisation)[:20],
        "refunds": store.refund_requests_of(organisation)[:20],
        "activity": store.subscription_activity(organisation),
        "plan_names": catalogue.plan_names(),
        "new_key": new_key,
    }
    return render(request, "subscriptions/store/home.html", context)


@store_page
def plans(request: OrganisationRequest) -> HttpResponse:
    organisation = request.organisation
    context = {
        "subscription": entitlements.subscription_of(organisation),
        "offers": previews.store_offers(organisation),
    }
    return render(request, "subscriptions/store/plans.html", context)


def _seats(request: OrganisationRequest) -> tuple[int | None, str]:
    """The seats asked for (a POST's own field, else ``?seats=``), or None for the
    change's default; with the reason when a value was given that is not a number."""
    source = request.POST if request.method == "POST" else request.GET
    value = (source.get("seats") or "").strip()
    if not value:
        return None, ""
    if not (value.isascii() and value.isdigit()):
        return None, _("Enter the number of seats as a whole number.")
    return int(value), ""


@store_page
@idempotent
def confirm(request: OrganisationRequest, plan_code: str) -> HttpResponse:
    """The impact of the change, then Confirm. Paid plans without a seat cap may be
    previewed with another number of seats (``?seats=N``). A confirmation with seats that
    do not fit is answered with the page and its error (400), and changes nothing."""
    organisation = request.organisation
    seats, seats_error = _seats(request)
    try:
        preview = previews.preview_plan_change(organisation, plan_code, seats=seats)
    except UnknownPlan as error:
        raise Http404(str(error)) from None
    except InvalidSeats as error:  # out of the plan's bounds: show the default instead
        seats_error = str(error)
        preview = previews.preview_plan_change(organisation, plan_code)
    except DomainError as error:  # e.g. the plan has no price in this currency
        messages.error(request, str(error))
        return HttpResponseRedirect(reverse("store_plans"))
    if seats is not None and isinstance(preview.refusal, SeatsAgainstTheChange):
        # Seats the change may not have (more on a downgrade, fewer on an upgrade): say
        # so, and offer the change with the seats it keeps by default.
        seats_error = str(preview.refusal)
        preview = previews.preview_plan_change(organisation, plan_code)
    if seats_error:
        messages.error(request, seats_error)
    active_users = list_active_users() if preview.seats_over else None
    form = ConfirmChangeForm(
        request.POST or None,
        active_users=active_users,
        # The primary contact and the person confirming stay by default.
        initial={
            "keep": [
                user
                for user in active_users or []
                if user.is_primary_contact or user.pk == request.user.pk
            ]
        },
    )
    status = 200
    if request.method == "POST":
        status = 400  # unless the change is made
        if not seats_error and form.is_valid():
            keep = [user.pk for user in form.cleaned_data.get("keep", [])]
            try:
                change = plan_changes.change_plan(
                    organisation,
                    plan_code,
                    acting_user=request.user,
                    seats=seats,
                    keep_user_ids=keep,
                    idempotency_key=request.idempotency_key,
                )
            except DomainError as error:
                messages.error(request, str(error))
                status = error.status
            else:
                messages.success(
                    request,
                    _("Your organisation is now on the %(plan)s plan.")
                    % {"plan": change.to_plan.name},
                )
                return HttpResponseRedirect(reverse("store_result", args=[change.pk]))
    context = {"preview": preview, "form": form, "new_key": new_key}
    return render(request, "subscriptions/store/confirm.html", context, status=status)


def _change(request: OrganisationRequest, pk: int) -> PlanChange:
    return get_object_or_404(store.plan_changes_of(request.organisation), pk=pk)


def _result_page(
    request: OrganisationRequest, change: PlanChange, feedback_form: FeedbackForm, status: int
) -> HttpResponse:
    refund = getattr(change, "refund_request", None)
    context = {
        "change": change,
        "refund": refund,
        "next_bill": previews.next_bill(entitlements.subscription_of(request.organisation)),
        "feedback_form": feedback_form,
        "may_request_refund": change.refund_quote > 0 and refund is None,
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
    try:
        plan_changes.share_feedback(change, acting_user=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, str(error))
        return _result_page(request, change, form, status=error.status)
    messages.success(request, _("Thank you for your feedback."))
    return HttpResponseRedirect(reverse("store_result", args=[change.pk]))


@require_POST
@store_page
@idempotent
def request_refund(request: OrganisationRequest, pk: int) -> HttpResponse:
    change = _change(request, pk)
    try:
        refunds.request_refund(change, acting_user=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Your refund request was sent. We will email you when it has been reviewed."),
        )
    return HttpResponseRedirect(reverse("store_home") + "#refunds")


@require_POST
@store_page
@idempotent
def withdraw_refund(request: OrganisationRequest, pk: int) -> HttpResponse:
    refund = get_object_or_404(RefundRequest, pk=pk, organisation=request.organisation)
    try:
        refunds.withdraw_refund(refund, acting_user=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your refund request was withdrawn."))
    return HttpResponseRedirect(reverse("store_home") + "#refunds")


@store_page
def invoice(request: OrganisationRequest, number: str) -> HttpResponse:
    """One of the organisation's invoices, ready to print (another's is not found)."""
    found = invoices.invoice_of(request.organisation, number)
    if found is None:
        raise Http404
    return render(request, "subscriptions/store/invoice.html", {"invoice": found})
