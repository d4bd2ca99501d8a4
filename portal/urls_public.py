"""URLs of the public site (PORTAL_BASE_DOMAIN): the landing page, sign-up and the vendor's
admin. The apps are included by name: the base imports none of them."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal import views

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("", views.landing, name="landing"),
    path("", include("organisations.urls")),
    path("", include("subscriptions.urls_public")),
    # The audit log's pages when it was part of the subscriptions app (bookmarks, links
    # in notes): the same page, filters kept.
    path(
        "admin/subscriptions/auditevent/<path:rest>",
        RedirectView.as_view(url="/admin/audit/auditevent/%(rest)s", query_string=True),
    ),
    path(
        "admin/subscriptions/auditevent/",
        RedirectView.as_view(url="/admin/audit/auditevent/", query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
