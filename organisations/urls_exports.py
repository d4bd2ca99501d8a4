"""The organisation's data export, on its site, open (``organisations.urls_tenants``) or
closed (``portal.urls_closed``)."""

from django.urls import path

from organisations import export_views

urlpatterns = [
    path("export/", export_views.request_export, name="export_request"),
    path("export/<str:token>/", export_views.download, name="export_download"),
]
