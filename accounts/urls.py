"""The accounts app's URLs on an organisation's site: the dashboard, users, departments."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("users/", views.user_list, name="user_list"),
    path("users/add/", views.user_add, name="user_add"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path(
        "users/<int:pk>/primary-contact/",
        views.user_make_primary_contact,
        name="user_make_primary_contact",
    ),
    path("departments/", views.department_list, name="department_list"),
    path("departments/<int:pk>/rename/", views.department_rename, name="department_rename"),
]
