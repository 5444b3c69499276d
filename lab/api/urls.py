"""Routes of the lab API under /api/v1/units/{cf}/…, the entry routes generated from the registry."""

from django.urls import path

from lab.api import views
from modules.registry import KINDS

UNIT_YEAR = "units/<str:cf>/years/<int:year>/"

urlpatterns = [
    path("units/<str:cf>/years/", views.UnitYearsView.as_view(), name="api-unit-years"),
    path(UNIT_YEAR, views.ReportView.as_view(), name="api-report"),
    path(UNIT_YEAR + "modules/<str:module>/validation/", views.ModuleValidationView.as_view(),
         name="api-module-validation"),
    path(UNIT_YEAR + "results/", views.ResultsView.as_view(), name="api-results"),
    path(UNIT_YEAR + "travellers/", views.TravellersView.as_view(), name="api-travellers"),
]

for _name, _spec in sorted(KINDS.items()):
    urlpatterns += [
        path(f"{UNIT_YEAR}entries/{_name}/", views.EntryViewSet.as_view({"get": "list", "post": "create"}, spec=_spec),
             name=f"api-entries-{_name}"),
        path(f"{UNIT_YEAR}entries/{_name}/<int:pk>/", views.EntryViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}, spec=_spec),
             name=f"api-entry-{_name}"),
        path(f"{UNIT_YEAR}entries/{_name}/upload/", views.EntryUploadView.as_view(spec=_spec),
             name=f"api-upload-{_name}"),
    ]
