"""`/admin/reporting/report/` (mounted by config/urls.py before the admin's own URLs). The anonymous are sent to the
admin's login page; a signed-in user without REPORT scope gets 403."""

from django.contrib import admin
from django.urls import path

from reporting.report_views import report_view
from units.admin_pages import signed_in

urlpatterns = [
    path("", signed_in(report_view(admin.site)), name="reporting-report"),
]
