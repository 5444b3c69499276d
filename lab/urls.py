from django.urls import path

from lab import module_views, results_views, upload_views, views

LAB = "labs/<str:cf>/<int:year>/"

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("language/", views.language, name="language"),
    path(LAB, views.overview, name="overview"),
    path(LAB + "results/", results_views.results, name="results"),
    path(LAB + "results.csv", results_views.results_csv, name="results_csv"),
    path(LAB + "jobs/<int:job>/", upload_views.progress, name="job"),
    path(LAB + "<str:module>/", module_views.module_page, name="module"),
    path(LAB + "<str:module>/validation/", module_views.validation, name="validation"),
    path(LAB + "<str:module>/<str:kind>/new/", module_views.entry_form, name="entry_new"),
    path(LAB + "<str:module>/<str:kind>/<int:pk>/", module_views.entry_form, name="entry_edit"),
    path(LAB + "<str:module>/<str:kind>/<int:pk>/delete/", module_views.entry_delete_page, name="entry_delete"),
    path(LAB + "<str:module>/<str:kind>/upload/", upload_views.upload, name="upload"),
    path(LAB + "<str:module>/<str:kind>/upload/<str:token>/", upload_views.preview, name="upload_preview"),
]
