"""URLs of the public site (PORTAL_BASE_DOMAIN): the landing page and the vendor's admin."""

from django.contrib import admin
from django.urls import include, path

from portal import views

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("", views.landing, name="landing"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
