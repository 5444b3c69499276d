from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from carbon import api as carbon_api
from config import views
from factors import api as factors_api
from modules import api as modules_api

urlpatterns = [
    path("admin/upload/", include(("carbon.jobs.upload_urls", "upload"))),
    path("admin/login/", views.admin_login, name="admin-login"),
    path("admin/audit/trail/", include("audit.trail_urls")),
    path("admin/reporting/exports/", include("reporting.export_urls")),
    path("admin/reporting/progress/", include("reporting.progress_urls")),
    path("admin/reporting/report/", include("reporting.report_urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("units.api_urls")),
    path("api/v1/", include("lab.api.urls")),
    path("api/v1/jobs/<int:pk>/", carbon_api.JobView.as_view(), name="api-job"),
    path("api/v1/jobs/<int:pk>/errors.csv", carbon_api.JobErrorsView.as_view(), name="api-job-errors"),
    path("api/v1/locations/", factors_api.LocationSearchView.as_view(), name="api-locations"),
    path("api/v1/templates/<str:kind>.csv", modules_api.TemplateView.as_view(), name="api-template"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Signed-in users only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page sends the anonymous
    # to the login page. The split view serves Swagger UI's init script as a file (?script): no inline
    # script, so it runs under the site's CSP; api/docs.html moves the page's inline style to static/.
    path("api/v1/docs/", login_required(SpectacularSwaggerSplitView.as_view(
        url_name="api-schema", template_name="api/docs.html")), name="api-docs"),
    path("", include(("lab.urls", "lab"))),
]

# Always routed, so the URLconf does not depend on import-time settings (the e2e test turns OIDC on with
# the `settings` fixture); the login views refuse while OIDC is off (units.auth.OIDCAuthenticateView).
urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

handler404 = "config.views.page_not_found"
