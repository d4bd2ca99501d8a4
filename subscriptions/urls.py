from django.urls import path

from subscriptions import views

urlpatterns = [
    path("features/", views.features, name="features"),
    path("live-chat/", views.live_chat, name="live_chat"),
]
