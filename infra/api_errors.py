"""Every 4xx of the API in one shape: a machine-readable `code`, a human `detail`, and for invalid input the
`errors` per field (the CSV contract's column names for entries)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

__all__ = ["document_error_responses", "document_path_converters", "exception_handler"]

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


# --- the error shape in the schema ------------------------------------------------------------------------
ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx of the API: a machine-readable `code`, a human `detail`, and for invalid input "
                   "the `errors` per field.",
    "properties": {
        "code": {"type": "string", "description": "e.g. invalid, parse_error, not_authenticated, "
                                                  "permission_denied, not_found"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                   "description": "Only for `invalid`: the messages of each field (`non_field_errors` for the "
                                  "whole body)."},
    },
    "required": ["code", "detail"],
}
ERROR_RESPONSES = {
    "400": "Invalid input, or a body that is not of its declared type",
    "403": "Not signed in, or not allowed",
    "404": "Not found, or outside the caller's scope",
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error shape as a component, and each operation's 4xx that
    its own declaration leaves out — 403 everywhere, 404 where the path has parameters, 400 wherever the
    request carries input (a body or parameters)."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            has_input = method != "get" or bool(operation.get("parameters"))
            codes = ["403"] + (["404"] if "{" in path else []) + (["400"] if has_input else [])
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ERROR_RESPONSES[code],
                                            "content": {"application/json": {"schema": reference}}})
            operation["responses"] = dict(sorted(responses.items()))
    return result


def document_path_converters(result, generator, request, public):
    """drf-spectacular postprocessing hook: a path parameter says what its Django converter matches — `<int:>`
    digits only (minimum 0), `<str:>` no slash — since a value outside that reaches no API view at all."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "path":
                    continue
                if schema.get("type") == "integer":
                    schema.setdefault("minimum", 0)
                elif schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("pattern", "^[^/]+$")
    return result
