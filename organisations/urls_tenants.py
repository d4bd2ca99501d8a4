"""On an organisation's site: the one-time welcome that signs a new primary contact in,
and the organisation's data export."""

from django.urls import include, path

from organisations import views

urlpatterns = [
    path("welcome/<str:key>/", views.welcome, name="welcome"),
    path("", include("organisations.urls_exports")),
]
