"""URLs of the admin upload flow, mounted at /admin/upload/ (namespace `upload`) before the admin site so the
admin's catch-all does not answer them."""

from django.urls import path

from carbon.jobs import upload_views as views

urlpatterns = [
    path("", views.upload, name="form"),
    path("<uuid:token>/", views.preview, name="preview"),
    path("<uuid:token>/errors.csv", views.preview_errors_csv, name="preview_errors"),
    path("<uuid:token>/confirm/", views.confirm, name="confirm"),
    path("<uuid:token>/cancel/", views.cancel, name="cancel"),
    path("pipeline/<int:pk>/", views.progress, name="progress"),
    path("pipeline/<int:pk>/errors.csv", views.pipeline_errors_csv, name="errors"),
]
