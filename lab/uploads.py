"""A lab's unit file of one kind: checked row by row (nothing written), then queued as a job. Shared by the
API's upload endpoint and the module page's upload form."""

from __future__ import annotations

from django.db import transaction

from carbon.jobs.services import import_enqueue
from infra.importing import ImportRequest, get_importer
from modules.registry import EntryKindSpec

__all__ = ["UPLOAD_MAX_BYTES", "upload_check", "upload_queue"]

UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def upload_check(spec: EntryKindSpec, *, unit, year: int, content: bytes, actor, category: str | None = None) -> dict:
    """The importer's dry run of a unit file: every row checked, nothing written (rolled back). `category`: the
    submodule chosen on the page (purchase, equipment), for files whose rows leave their category empty."""
    request = ImportRequest(source=content, year=year, unit_cf=unit.institutional_id, dry_run=True, actor=actor,
                            category=category)
    with transaction.atomic():
        outcome = get_importer(spec.name).run(request)
        transaction.set_rollback(True)
    return {"failed": outcome.failed, "rows_read": outcome.rows_read, "rows_valid": outcome.created,
            "summary": outcome.summary(), "errors": [e.as_dict() for e in outcome.errors],
            "warnings": [w.as_dict() for w in outcome.warnings]}


def upload_queue(spec: EntryKindSpec, *, unit, year: int, content: bytes, file_name: str, actor,
                 source: str = "lab", request=None, category: str | None = None):
    """Queue the import of a checked file; returns its first job (the one whose progress people follow)."""
    pipeline = import_enqueue(kind=spec.name, content=content, file_name=file_name[:200], year=year,
                              unit_cf=unit.institutional_id, actor=actor, source=source,
                              request=request, category=category)
    return pipeline.jobs.order_by("pk").first()
