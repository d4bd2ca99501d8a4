"""URLs of every organisation's site (<slug>.PORTAL_BASE_DOMAIN). No admin here. The apps
are included by name: the base imports none of them."""

from django.urls import include, path

from portal import views

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("", include("organisations.urls_tenants")),
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
