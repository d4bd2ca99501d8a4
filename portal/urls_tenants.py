"""URLs of every organisation's site (<slug>.PORTAL_BASE_DOMAIN). No admin here."""

from django.urls import include, path

from portal import views as portal_views

urlpatterns = [
    path("favicon.ico", portal_views.favicon),
    path("welcome/<str:key>/", portal_views.welcome, name="welcome"),
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
