"""`/admin/reporting/progress/` (mounted by config/urls.py before the admin's own URLs).

The anonymous are sent to the admin's login page; a signed-in user without REPORT scope gets 403 (lab users
included: they are not staff, but the answer is still "forbidden", not a login page).
"""

from django.contrib import admin
from django.urls import path

from reporting.progress_views import progress_view
from units.admin_pages import signed_in

urlpatterns = [
    path("", signed_in(progress_view(admin.site)), name="reporting-progress"),
]
