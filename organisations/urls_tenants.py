"""On a new organisation's site: the one-time welcome that signs its primary contact in."""

from django.urls import path

from organisations import views

urlpatterns = [
    path("welcome/<str:key>/", views.welcome, name="welcome"),
]
