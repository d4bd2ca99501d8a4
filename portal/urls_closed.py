"""A closed organisation's site (``portal.middleware``): every address answers that it is
closed, but its data export (``organisations.urls_exports``) while the site still offers it.
The site's own URLs follow, never reached: the pages' links are still named by them."""

from django.urls import include, path, re_path

from portal import views

urlpatterns = [
    path("", include("organisations.urls_exports")),
    # Static files are WhiteNoise's, before any URL (a closed site's page has its styles).
    re_path(r"^(?!static/).*$", views.closed_organisation, name="closed_organisation"),
    path("", include("portal.urls_tenants")),
]
