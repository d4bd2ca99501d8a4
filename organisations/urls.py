"""Sign-up's pages on the public site."""

from django.urls import path

from organisations import views

urlpatterns = [
    path("signup/", views.sign_up, name="sign_up"),
    path("signup/address/", views.sign_up_address, name="sign_up_address"),
    path("signup/sent/", views.sign_up_sent, name="sign_up_sent"),
    path("signup/verify/<str:key>/", views.sign_up_verify, name="sign_up_verify"),
    path("signup/<uuid:reference>/", views.sign_up_progress, name="sign_up_progress"),
    path("signup/<uuid:reference>/status/", views.sign_up_status, name="sign_up_status"),
    path("signup/<uuid:reference>/retry/", views.sign_up_retry, name="sign_up_retry"),
]
