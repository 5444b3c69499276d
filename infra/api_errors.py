"""Every 4xx of the API in one shape: a machine-readable `code`, a human `detail`, and for invalid input the
`errors` per field (the CSV contract's column names for entries)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

__all__ = ["exception_handler"]

INVALID_DETAIL = "The request has errors: see `errors`, by field."


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:  # not an API exception: Django's 500 (logged), never a half answer
        return None
    if isinstance(exc, ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"code": "invalid", "detail": INVALID_DETAIL, "errors": errors}
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = {"code": str(code), "detail": str(detail)}
    return response
