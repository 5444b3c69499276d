"""`/admin/reporting/exports/` and one download URL per export × format (mounted by config/urls.py before the
admin's own URLs). The anonymous are sent to the admin's login page; a signed-in user without REPORT scope
gets 403."""

from django.contrib import admin
from django.urls import path, reverse

from reporting.export_views import export_download, exports_page
from reporting.exports import EXPORTS
from units.admin_pages import signed_in


def download_urls() -> list[tuple[str, str, str]]:
    """(export, format, path) of every download this module routes — what the permission tests walk."""
    return [(name, fmt, reverse("reporting-export", args=[name, fmt]))
            for name, export in EXPORTS.items() for fmt in export.formats]


urlpatterns = [
    path("", signed_in(exports_page(admin.site)), name="reporting-exports"),
    path("<str:name>.<str:fmt>", signed_in(export_download), name="reporting-export"),
]
