"""Every request runs under an origin, so that the history rows it writes say where they came from."""

from __future__ import annotations

from audit.sources import request_label
from infra.history import write_origin

__all__ = ["RequestOriginMiddleware"]


class RequestOriginMiddleware:
    """Wraps the view in `write_origin("admin" | "API" | "lab pages" | "sign-in")`.

    All methods, not only unsafe ones: the OpenID callback is a GET and writes the person's roles. The
    user stays the one simple-history's middleware sets; the origin only adds the source.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with write_origin(request_label(request.path)):
            return self.get_response(request)
