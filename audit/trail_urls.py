"""`/admin/audit/trail/` and its exports (mounted by config/urls.py before the admin's own URLs).

The anonymous are sent to the admin's login page; a signed-in user without AUDIT scope gets 403
(lab users included: they are not staff, but the answer is still "forbidden", not a login page).
"""

from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import path, reverse
from django.views.decorators.cache import never_cache

from audit.trail_views import trail_export, trail_view


def signed_in(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


urlpatterns = [
    path("", signed_in(trail_view(admin.site)), name="audit-trail"),
    path("export.csv", signed_in(trail_export("csv")), name="audit-trail-export-csv"),
    path("export.json", signed_in(trail_export("json")), name="audit-trail-export-json"),
]
