from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from carbon import api as carbon_api
from carbon import views

urlpatterns = [
    path("admin/upload/", include(("carbon.jobs.upload_urls", "upload"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("units.api_urls")),
    path("api/v1/jobs/<int:pk>/", carbon_api.JobView.as_view(), name="api-job"),
    path("api/v1/templates/<str:kind>.csv", carbon_api.TemplateView.as_view(), name="api-template"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(("units.lab_urls", "lab"))),
]

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))
