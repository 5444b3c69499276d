"""`/admin/audit/trail/` and its exports (mounted by config/urls.py before the admin's own URLs).

The anonymous are sent to the admin's login page; a signed-in user without AUDIT scope gets 403
(lab users included: they are not staff, but the answer is still "forbidden", not a login page).
"""

from django.contrib import admin
from django.urls import path

from audit.trail_views import trail_export, trail_row_view, trail_view
from units.admin_pages import signed_in

urlpatterns = [
    path("", signed_in(trail_view(admin.site)), name="audit-trail"),
    path("row/<str:table>/<int:pk>/", signed_in(trail_row_view(admin.site)), name="audit-trail-row"),
    path("export.csv", signed_in(trail_export("csv")), name="audit-trail-export-csv"),
    path("export.json", signed_in(trail_export("json")), name="audit-trail-export-json"),
]
