"""What the back office's own pages (audit trail, exports, progress, reporting) share with the admin's login."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.views.decorators.cache import never_cache

__all__ = ["signed_in"]


def signed_in(view):
    """The anonymous go to the admin's login page and come back; a signed-in user reaches the view, which
    answers 403 itself when their scope is empty (a lab user is not staff, but "forbidden" is the truth)."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return never_cache(wrapper)
