"""Where a write came from, for history rows: read from the suffix its origin left on the change reason.

History tables have no source column (43 tables, and the COPY writers would all need it); instead every
write runs under an origin (`infra.history.write_origin`) whose label ends the change reason: "…; admin",
"…; API", "…; lab pages", "…; sign-in" (set per request by `audit.middleware.RequestOriginMiddleware`),
"…; job 42" (the job runner), "…; command line: import_csv" (`units.operators`). A recalculation's rows
say "recalculated …". The same patterns serve the trail's display (Python `re`) and its source filter
(PostgreSQL regular expressions): both dialects read them alike.
"""

from __future__ import annotations

import re

from audit.models import AuditSource

__all__ = ["REQUEST_LABELS", "SOURCE_PATTERNS", "history_source", "job_id", "operator", "request_label"]

REQUEST_LABELS = {AuditSource.ADMIN: "admin", AuditSource.API: "API", AuditSource.LAB: "lab pages",
                  AuditSource.AUTH: "sign-in"}

# Checked in this order: a recalculation run by a job or a command is a recalculation.
SOURCE_PATTERNS = {
    AuditSource.RECALCULATION: r"^recalculated ",
    AuditSource.JOB: r"(^|; )job [0-9]+$",
    AuditSource.COMMAND: r"(^|; )command line: [^;]*$",
    **{source: rf"(^|; ){label}$" for source, label in REQUEST_LABELS.items()},
}
_COMPILED = {source: re.compile(pattern) for source, pattern in SOURCE_PATTERNS.items()}
_JOB = re.compile(r"(?:^|; )job ([0-9]+)$")
_OPERATOR = re.compile(r"(?:^|; )command line: [^;(]*\((operator [^)]*)\)$")


def request_label(path: str) -> str:
    """The origin label of a request, by where it was sent."""
    if path.startswith("/admin/"):
        return REQUEST_LABELS[AuditSource.ADMIN]
    if path.startswith("/api/"):
        return REQUEST_LABELS[AuditSource.API]
    if path.startswith(("/oidc/", "/accounts/")):
        return REQUEST_LABELS[AuditSource.AUTH]
    return REQUEST_LABELS[AuditSource.LAB]


def history_source(reason: str | None) -> str:
    """The source of a history row from its change reason; "" for rows written before origins were kept."""
    for source, pattern in _COMPILED.items():
        if reason and pattern.search(reason):
            return str(source)
    return ""


def job_id(reason: str | None) -> int | None:
    """The job a history row was written by, if any."""
    match = _JOB.search(reason or "")
    return int(match.group(1)) if match else None


def operator(reason: str | None) -> str:
    """The operator a command-line row names when no account was given ("operator alice"), else ""."""
    match = _OPERATOR.search(reason or "")
    return match.group(1) if match else ""
