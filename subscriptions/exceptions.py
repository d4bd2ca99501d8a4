"""Domain errors of plans, plan changes, refunds and overrides."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import DomainError, PermissionDenied


class SubscriptionError(DomainError):
    code = "subscription_error"


class NotSubscriptionManager(PermissionDenied):
    code = "not_subscription_manager"
    message = _("Only the primary contact or a super admin can manage the subscription.")


class StaffPermissionRequired(PermissionDenied):
    code = "staff_permission_required"
    message = _("Your staff account does not have permission to do this.")


class UnknownPlan(SubscriptionError):
    code = "unknown_plan"
    message = _("There is no plan “%(code)s”. Plans: %(codes)s.")
    status = 404


class UnknownFeature(SubscriptionError):
    code = "unknown_feature"
    message = _("There is no feature “%(code)s”.")
    status = 404


class InvalidChoice(SubscriptionError):
    code = "invalid_choice"
    message = _("“%(value)s” is not a valid %(field)s. Choose one of: %(choices)s.")


class PriceMissing(SubscriptionError):
    code = "price_missing"
    message = _("The %(plan)s plan has no %(cycle)s price in %(currency)s yet.")


class NoSubscription(SubscriptionError):
    code = "no_subscription"
    message = _("%(organisation)s has no subscription.")
    status = 404


class SamePlan(SubscriptionError):
    code = "same_plan"
    message = _(
        "The organisation is already on the %(plan)s plan with this billing cycle and these seats."
    )


class TransitionNotAllowed(SubscriptionError):
    code = "transition_not_allowed"
    message = _("Changing from %(from_plan)s to %(to_plan)s is not possible.")


class TransitionNeedsStep(TransitionNotAllowed):
    code = "transition_needs_step"
    message = _(
        "Changing from %(from_plan)s to %(to_plan)s is not possible directly: "
        "downgrade to %(step)s first."
    )


class InvalidSeats(SubscriptionError):
    code = "invalid_seats"
    message = _("Choose between 1 and %(cap)s seats for the %(plan)s plan.")


class SeatsAgainstTheChange(SubscriptionError):
    code = "seats_against_the_change"
    message = _(
        "Keep %(seats)s seats when moving to %(plan)s: a downgrade cannot add seats and an "
        "upgrade cannot remove them."
    )


class FeatureNotAvailable(SubscriptionError):
    code = "feature_not_available"
    message = _("%(feature)s is not available on your plan.")
    status = 403


class KeepListRequired(SubscriptionError):
    code = "keep_list_required"
    message = _(
        "The %(plan)s plan has %(seats)s seats but %(active)s users are active. Choose "
        "at most %(seats)s users to keep active; the others will be deactivated (not deleted)."
    )


class KeepListInvalid(SubscriptionError):
    code = "keep_list_invalid"
    message = _("The users to keep active are not valid: %(reason)s")


class ProviderUnavailable(SubscriptionError):
    code = "provider_unavailable"
    message = _(
        "The payment provider cannot be reached just now. Nothing was changed: try again "
        "in a few minutes."
    )
    status = 503


class CardRefused(SubscriptionError):
    code = "card_refused"
    message = _("The card could not be added: %(reason)s")
    status = 402


class PaymentFailed(SubscriptionError):
    code = "payment_failed"
    message = _("The payment of %(amount)s could not be taken: %(reason)s")
    status = 402


class RefundNotAvailable(SubscriptionError):
    code = "refund_not_available"
    message = _("This plan change has no refund to request: %(reason)s")


class RefundAlreadyRequested(SubscriptionError):
    code = "refund_already_requested"
    message = _("A refund was already requested for this plan change.")
    status = 409


class IllegalRefundMove(SubscriptionError):
    code = "illegal_refund_move"
    message = _("A refund request that is %(status)s cannot be %(move)s.")
    status = 409


class NoteRequired(SubscriptionError):
    code = "note_required"
    message = _("Give a note explaining the decision.")


class AuthenticationRequired(PaymentFailed):
    """The card asks its holder to confirm the payment (3-D Secure): nothing was changed or
    taken; the Store's page has them confirm it with the provider (``client_secret``), then
    sends the confirmation again with the payment they authenticated (``reference``)."""

    code = "authentication_required"
    message = _(
        "Your card asks you to confirm the payment of %(amount)s (3-D Secure). Confirm it in "
        "the window your bank opens; the change is made once it is confirmed."
    )

    def __init__(self, *, amount: str, client_secret: str, reference: str) -> None:
        super().__init__(amount=amount)
        self.client_secret, self.reference = client_secret, reference


class RefundNotPaid(SubscriptionError):
    code = "refund_not_paid"
    message = _("The refund of %(amount)s could not be paid: %(reason)s It stays approved.")
    status = 502


class PaymentReferenceRequired(SubscriptionError):
    code = "payment_reference_required"
    message = _("Give the payment reference of the refund.")


class InvalidOverride(SubscriptionError):
    code = "invalid_override"
    message = _("The override is not valid: %(reason)s")


class CatalogueRuleBroken(SubscriptionError):
    code = "catalogue_rule_broken"
    message = _("This change is refused: %(reason)s")


class FeedbackReasonNotForChange(SubscriptionError):
    code = "feedback_reason_not_for_change"
    message = _(
        "“%(reason)s” is not a reason for this kind of change (%(kind)s). Choose one of: "
        "%(choices)s."
    )


class QuoteChanged(SubscriptionError):
    """A confirmation whose figures are no longer the ones the change would have now
    (docs/domain.md, "Quotes are promises")."""

    code = "quote_changed"
    message = _(
        "The figures changed since this page was shown (another change, a renewal, a price "
        "change or the date). Nothing was changed or charged: check the new figures and "
        "confirm again."
    )
    status = 409


class InvalidBillingDetails(SubscriptionError):
    code = "invalid_billing_details"
    message = _("The billing details were not saved: %(reason)s")
    TOO_MANY_EMAILS = _("give at most %(count)s billing email addresses.")


class ClockRefused(SubscriptionError):
    """A test clock that may not be moved (``services.clocks``)."""

    code = "clock_refused"
    message = _("The test clock was not moved: %(reason)s")
    OFF = _("test clocks are off (PORTAL_TEST_CLOCKS); they are for demos and staging.")
    BACKWARDS = _("it is already %(today)s there, and a clock never goes back.")
    TOO_FAR = _("give a day up to %(latest)s.")


class PastDue(SubscriptionError):
    code = "past_due"
    message = _(
        "The renewal of %(date)s is not paid yet: pay it (update the card) or move to Free; "
        "other changes wait until it is paid."
    )
    status = 402


class NotPastDue(SubscriptionError):
    code = "not_past_due"
    message = _("%(organisation)s is not past due: its renewals are paid.")
    status = 409


class NothingToBill(SubscriptionError):
    code = "nothing_to_bill"
    message = _("The %(plan)s plan costs nothing: it has no billing cycle to switch.")


class NotSchedulable(SubscriptionError):
    code = "not_schedulable"
    message = _(
        "Only a downgrade, fewer seats or a change of billing cycle can wait for the end of "
        "the period; an upgrade is made now."
    )


class NothingScheduled(SubscriptionError):
    code = "nothing_scheduled"
    message = _("No change is scheduled for the end of the period.")
    status = 404


class ScheduledChangeOutdated(SubscriptionError):
    code = "scheduled_change_outdated"
    message = _("The period it was scheduled for ended some other way.")


class NotOnTrial(SubscriptionError):
    code = "not_on_trial"
    message = _("%(organisation)s is not on a trial: it has ended or it chose a plan.")
    status = 409


class TrialDaysInvalid(SubscriptionError):
    code = "trial_days_invalid"
    message = _("Extend a trial by 1 to %(most)s days.")


class TrialChangesNow(SubscriptionError):
    code = "trial_changes_now"
    message = _(
        "During a trial, a change is made now: at the trial's end the organisation moves to "
        "Free unless a plan was chosen."
    )


class AlreadyClosed(SubscriptionError):
    code = "already_closed"
    message = _("%(organisation)s was closed on %(date)s.")
    status = 409


class ClosureAlreadyScheduled(SubscriptionError):
    code = "closure_already_scheduled"
    message = _("%(organisation)s already closes on %(date)s.")
    status = 409


class NoClosureScheduled(SubscriptionError):
    code = "no_closure_scheduled"
    message = _("No closure of %(organisation)s is scheduled.")
    status = 409


class NotPrimaryContact(SubscriptionError):
    code = "not_primary_contact"
    message = _("Only the primary contact can close the organisation.")
    status = 403


class ClosureScheduled(SubscriptionError):
    code = "closure_scheduled"
    message = _("The organisation closes on %(date)s: cancel the closure before changing the plan.")
    status = 409
