"""Plan catalogue, subscriptions, plan changes, refunds and the ledger (public schema; the
audit log is the ``audit`` app), one module per subject; every model is importable here.

The catalogue is data that staff edit: plans, prices, features, each plan's value for each
feature and the allowed transitions. What an organisation may use is derived at read time
(``selectors.entitlements.entitlements_for``); nothing an organisation created is ever
changed or deleted by a plan change.
"""

from subscriptions.models.catalogue import (
    BillingCycle,
    Currency,
    Feature,
    Plan,
    PlanFeature,
    PlanPrice,
    PlanTransition,
    TransitionKind,
)
from subscriptions.models.changes import (
    ChangeKind,
    FeedbackReason,
    PlanChange,
    RefundRequest,
    RefundStatus,
    ScheduledChange,
)
from subscriptions.models.invoices import BillingDetails, Invoice, InvoiceKind, InvoiceStatus
from subscriptions.models.ledger import CHARGE_KINDS, LedgerKind, LedgerLine
from subscriptions.models.payments import Payment, PaymentAccount, PaymentStatus, ProviderEvent
from subscriptions.models.subscription import EntitlementOverride, Subscription

__all__ = [
    "CHARGE_KINDS",
    "BillingCycle",
    "BillingDetails",
    "ChangeKind",
    "Currency",
    "EntitlementOverride",
    "Feature",
    "FeedbackReason",
    "Invoice",
    "InvoiceKind",
    "InvoiceStatus",
    "LedgerKind",
    "LedgerLine",
    "Payment",
    "PaymentAccount",
    "PaymentStatus",
    "Plan",
    "PlanChange",
    "PlanFeature",
    "PlanPrice",
    "PlanTransition",
    "ProviderEvent",
    "RefundRequest",
    "RefundStatus",
    "ScheduledChange",
    "Subscription",
    "TransitionKind",
]
