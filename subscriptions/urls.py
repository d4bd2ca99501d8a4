from django.urls import path

from subscriptions import store, views

urlpatterns = [
    path("features/", views.features, name="features"),
    path("live-chat/", views.live_chat, name="live_chat"),
    path("store/", store.home, name="store_home"),
    path("store/plans/", store.plans, name="store_plans"),
    path("store/plans/<slug:plan_code>/", store.confirm, name="store_confirm"),
    path("store/changes/<int:pk>/", store.result, name="store_result"),
    path("store/changes/<int:pk>/feedback/", store.feedback, name="store_feedback"),
    path("store/changes/<int:pk>/refund/", store.request_refund, name="store_request_refund"),
    path("store/refunds/<int:pk>/withdraw/", store.withdraw_refund, name="store_withdraw_refund"),
    path("store/invoices/<str:number>/", store.invoice, name="store_invoice"),
]
