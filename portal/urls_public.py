"""URLs of the public site (PORTAL_BASE_DOMAIN): the landing page, sign-up and the vendor's
admin."""

from django.contrib import admin
from django.urls import include, path

from portal import views

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("", views.landing, name="landing"),
    path("signup/", views.sign_up, name="sign_up"),
    path("signup/address/", views.sign_up_address, name="sign_up_address"),
    path("signup/sent/", views.sign_up_sent, name="sign_up_sent"),
    path("signup/verify/<str:key>/", views.sign_up_verify, name="sign_up_verify"),
    path("signup/<uuid:reference>/", views.sign_up_progress, name="sign_up_progress"),
    path("signup/<uuid:reference>/status/", views.sign_up_status, name="sign_up_status"),
    path("signup/<uuid:reference>/retry/", views.sign_up_retry, name="sign_up_retry"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
