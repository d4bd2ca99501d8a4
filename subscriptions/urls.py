"""The subscriptions app's URLs on an organisation's site: the Features page and the Store."""

from django.urls import path, re_path

from subscriptions.views import closing, features, payment_method, store

urlpatterns = [
    path("features/", features.features, name="features"),
    path("live-chat/", features.live_chat, name="live_chat"),
    path("store/", store.home, name="store_home"),
    path("store/plans/", store.plans, name="store_plans"),
    path("store/history/", store.history, name="store_history"),
    path("store/billing/", store.billing, name="store_billing"),
    path("store/billing-details/", store.billing_details, name="store_billing_details"),
    path("store/payment-method/", payment_method.payment_method, name="store_payment_method"),
    path("store/plans/<slug:plan_code>/", store.confirm, name="store_confirm"),
    path("store/scheduled/cancel/", store.cancel_scheduled, name="store_cancel_scheduled"),
    path("store/close/", closing.close, name="store_close"),
    path("store/close/cancel/", closing.cancel_closure, name="store_cancel_closure"),
    path("store/changes/<int:pk>/", store.result, name="store_result"),
    path("store/changes/<int:pk>/feedback/", store.feedback, name="store_feedback"),
    path("store/changes/<int:pk>/refund/", store.request_refund, name="store_request_refund"),
    path("store/refunds/<int:pk>/withdraw/", store.withdraw_refund, name="store_withdraw_refund"),
    # Only what an invoice number can be (no odd bytes reach the database).
    re_path(
        r"^store/invoices/(?P<number>(?:INV|RET)-[0-9]{4}-[0-9]{6,})/$",
        store.invoice,
        name="store_invoice",
    ),
]
