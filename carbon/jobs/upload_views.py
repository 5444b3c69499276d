"""Admin upload flow: upload → validate → preview → confirm → progress → result.

Why it is built this way:
- The web request never imports. Files up to `VALIDATE_IN_REQUEST_BYTES` are validated here with the
  importer's dry run (every row, nothing written) so the preview lists every error; larger files would
  hold the request too long, so the worker validates them and the result page lists their errors.
- Between preview and confirm the bytes live in the default storage (`uploads/pending/<uuid>.csv`),
  shared by every web process, with only the token in the session: another admin's session cannot
  confirm or read them.
- Only back-office admins (`is_backoffice_admin`) may upload; anyone else signed in gets a
  bare 403, the anonymous the admin login.
- The progress page refreshes itself with `<meta http-equiv="refresh">`: it works without JavaScript.
"""

from __future__ import annotations

import io
import json
import logging
import math
import uuid
from datetime import timedelta
from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carbon.jobs import upload_forms
from carbon.jobs.models import JobType, Pipeline
from carbon.jobs.services import import_enqueue, phase_of
from carbon.jobs.upload_forms import UploadForm, kind_label
from infra.csvio import ISSUE_HEADER, ColumnSpec, CsvFileError, read_csv, write_csv
from infra.events import emit
from infra.importing import ImportRequest, get_importer
from units.scoping import is_backoffice_admin

logger = logging.getLogger(__name__)

__all__ = ["confirm", "cancel", "pipeline_errors_csv", "preview", "preview_errors_csv", "progress", "upload"]

# Files up to this size are validated in the request (a dry run of 5 MB takes a few seconds at most).
VALIDATE_IN_REQUEST_BYTES = 5 * 1024 * 1024
# A multipart body is the file plus a few fields: a Content-Length above the limit plus this is refused
# before Django reads (and spools) the body.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
PENDING_DIR = "uploads/pending"
PENDING_MAX_AGE = timedelta(days=1)  # older pending files belong to abandoned sessions
SESSION_KEY = "carbon_upload_pending"
SESSION_MAX_PENDING = 10
PREVIEW_ROWS = 20
PREVIEW_HEAD_BYTES = 256 * 1024  # the preview parses only the file's head, whatever its size
PAGE_SIZE = 500  # errors and warnings per page: every one is reachable, no page is megabytes of HTML
PHASES = {1: "import", 2: "recalculations", 3: "statistics"}


# --- access ---------------------------------------------------------------------------------------
def _admin_only(view):
    """Admin look and login redirect from `admin_view`; a signed-in non-admin gets a bare 403."""
    protected = admin.site.admin_view(view)

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.user.is_authenticated and not is_backoffice_admin(request.user):
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return guarded


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


# --- pending uploads (storage + session) ----------------------------------------------------------
def _pending(request, token) -> dict:
    meta = request.session.get(SESSION_KEY, {}).get(str(token))
    if meta is None:
        raise Http404("No such upload in this session (confirmed, cancelled or expired).")
    return meta


def _pending_forget(request, token) -> None:
    entries = request.session.get(SESSION_KEY, {})
    meta = entries.pop(str(token), None)
    request.session[SESSION_KEY] = entries
    if meta:
        for name in (meta["csv"], meta["result"]):
            default_storage.delete(name)


def _pending_remember(request, token: str, meta: dict) -> None:
    request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), token: meta}
    while len(entries := request.session[SESSION_KEY]) > SESSION_MAX_PENDING:  # several tabs, not unbounded
        _pending_forget(request, min(entries, key=lambda t: entries[t]["created_at"]))


def _prune_abandoned() -> None:
    """Delete pending files nobody confirmed or cancelled (their session ended): no scheduled task needed."""
    try:
        _, files = default_storage.listdir(PENDING_DIR)
    except (FileNotFoundError, NotImplementedError):
        return
    cutoff = timezone.now() - PENDING_MAX_AGE
    for name in files:
        path = f"{PENDING_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


def _read_result(meta: dict) -> dict:
    try:
        with default_storage.open(meta["result"], "rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise Http404("This upload's files are gone: upload the file again.")


# --- validation and preview -----------------------------------------------------------------------
def _validate(meta: dict, content: bytes, actor) -> dict:
    """The importer's dry run: every row checked, nothing written (rolled back even if an importer erred)."""
    importer = get_importer(meta["kind"])
    try:
        with transaction.atomic():
            outcome = importer.run(ImportRequest(source=content, year=meta["year"], unit_cf=meta["unit_cf"],
                                                 dry_run=True, skip_invalid=meta["skip_invalid"], actor=actor,
                                                 category=meta.get("category")))
            transaction.set_rollback(True)
    except Exception as exc:  # an importer bug must not look like a valid file
        logger.exception("dry run of %s failed", meta["kind"])
        return {"validated": True, "errors": [{"row": None, "column": None, "reason": f"validation failed: {exc}"}],
                "warnings": [], "rows_read": 0, "created": 0, "skipped_rows": 0, "failed": True}
    return {"validated": True, "failed": outcome.failed, "rows_read": outcome.rows_read, "created": outcome.created,
            "updated": outcome.updated, "deleted": outcome.deleted, "unchanged": outcome.unchanged,
            "skipped_rows": len(outcome.skipped_rows), "summary": outcome.summary(),
            "errors": [e.as_dict() for e in outcome.errors], "warnings": [w.as_dict() for w in outcome.warnings]}


def _head(name: str) -> bytes:
    """The first rows' bytes, cut at a line end (a newline byte never sits inside a UTF-8 character)."""
    with default_storage.open(name, "rb") as handle:
        head = handle.read(PREVIEW_HEAD_BYTES + 1)
    if len(head) > PREVIEW_HEAD_BYTES:
        cut = head.rfind(b"\n", 0, PREVIEW_HEAD_BYTES)
        head = head[: cut + 1] if cut > 0 else head[:PREVIEW_HEAD_BYTES]
    return head


def _preview_rows(head: bytes) -> tuple[list[str], list[tuple[int, list[str]]], list[str]]:
    """The file's own header and first rows, read by csvio (encoding, delimiter, comments) for any kind:
    a first pass with no declared column reports every header cell as unknown, the second declares them."""
    try:
        probe = read_csv(head, columns=[])
        header = list(probe.ignored_columns)
        probe.close()
        reader = read_csv(head, columns=[ColumnSpec(name) for name in header])
        rows = []
        for row in reader:
            rows.append((row.number, [row.values[name] for name in header]))
            if len(rows) >= PREVIEW_ROWS:
                break
        reader.close()
    except CsvFileError as exc:
        return [], [], [str(e) for e in exc.errors]
    return header, rows, []


def _blocking_reason(meta: dict, result: dict) -> str:
    """Why Confirm is disabled ('' when it is not); enforced again on the confirm POST."""
    errors = result.get("errors", [])
    if not result.get("failed", bool(errors)):  # the importer's verdict (results stored before it: errors)
        return ""
    if any(e["row"] is None for e in errors):
        return _("The file itself is not importable (see the errors without a row): fix it and upload it again.")
    if not meta["skip_invalid"]:
        return ngettext(
            "%(count)d row error: nothing would be imported. Fix the file and upload it again, or upload it again "
            "with “Skip invalid rows” to import the valid rows only.",
            "%(count)d row errors: nothing would be imported. Fix the file and upload it again, or upload it again "
            "with “Skip invalid rows” to import the valid rows only.", len(errors)) % {"count": len(errors)}
    return ""


def _page(request, items: list, param: str):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get(param))


def _csv_response(rows: list, header: list[str], filename: str) -> HttpResponse:
    """Cells sanitised against spreadsheet formulas; a BOM so spreadsheets read the accents as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    write_csv(rows, header, buffer)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- views ----------------------------------------------------------------------------------------
def _upload(request):
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            return _store_and_validate(request, form)
    else:
        # ?kind=…&year=… pre-fill the form (the campaign view links each missing item here).
        form = UploadForm(initial={k: request.GET[k] for k in ("kind", "year") if request.GET.get(k)})
    return render(request, "admin/carbon/upload/form.html", _context(request, "Upload a CSV file", form=form))


def _store_and_validate(request, form):
    data, upload = form.cleaned_data, form.cleaned_data["file"]
    _prune_abandoned()
    token = str(uuid.uuid4())
    meta = {"kind": data["kind"], "year": data["year"], "unit_cf": data["unit_cf"],
            "skip_invalid": data["skip_invalid"], "category": data.get("category"), "file_name": upload.name,
            "size": upload.size,
            "created_at": timezone.now().isoformat()}
    if upload.size <= VALIDATE_IN_REQUEST_BYTES:
        content = upload.read()
        meta["csv"] = default_storage.save(f"{PENDING_DIR}/{token}.csv", ContentFile(content))
        result = _validate(meta, content, request.user)
    else:
        meta["csv"] = default_storage.save(f"{PENDING_DIR}/{token}.csv", upload)  # streamed in chunks
        result = {"validated": False, "errors": [], "warnings": []}
    meta["result"] = default_storage.save(f"{PENDING_DIR}/{token}.json",
                                          ContentFile(json.dumps(result).encode()))
    _pending_remember(request, token, meta)
    return redirect("upload:preview", token=token)


_upload_guarded = _admin_only(_upload)


@csrf_exempt  # the CSRF check runs inside (admin_view); only this size check comes before it
@never_cache
def upload(request):
    """Refuse an oversized body from its Content-Length alone, before anything reads (or spools) it."""
    if request.method == "POST" and request.user.is_authenticated and is_backoffice_admin(request.user):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > upload_forms.MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD_BYTES:
            return render(request, "admin/carbon/upload/form.html", _context(
                request, "Upload a CSV file", form=UploadForm(), too_large=upload_forms.too_large_message(length)),
                status=413)
    return _upload_guarded(request)


@_admin_only
def preview(request, token):
    meta = _pending(request, token)
    result = _read_result(meta)
    header, rows, head_errors = _preview_rows(_head(meta["csv"]))
    errors, warnings = result.get("errors", []), result.get("warnings", [])
    error_rows = {e["row"] for e in errors if e["row"] is not None}
    return render(request, "admin/carbon/upload/preview.html", _context(
        request, "Check the file before importing it", token=token, meta=meta, result=result,
        kind_label=kind_label(get_importer(meta["kind"])), header=header, rows=rows, head_errors=head_errors,
        preview_rows=PREVIEW_ROWS, in_request_limit=VALIDATE_IN_REQUEST_BYTES,
        valid_rows=max(result.get("rows_read", 0) - len(error_rows), 0), error_rows=len(error_rows),
        entry_kind=getattr(get_importer(meta["kind"]), "accepts_unit", False),
        errors_page=_page(request, errors, "errors_page"), warnings_page=_page(request, warnings, "warnings_page"),
        blocking=_blocking_reason(meta, result)))


@_admin_only
def preview_errors_csv(request, token):
    meta = _pending(request, token)
    errors = _read_result(meta).get("errors", [])
    emit("downloaded", source="admin", actor=request.user, request=request, list="upload preview errors",
         format="csv", rows=len(errors), file_name=meta.get("file_name", ""))
    return _csv_response(errors, ISSUE_HEADER, f"upload-{str(token)[:8]}-errors.csv")


@require_POST
@_admin_only
def confirm(request, token):
    """Queue the import (a worker runs it) and go to its progress page; the request imports nothing."""
    meta = _pending(request, token)
    blocking = _blocking_reason(meta, _read_result(meta))
    if blocking:
        messages.error(request, blocking)
        return redirect("upload:preview", token=token)
    with transaction.atomic():
        # A double submit (two POSTs read the session before either saved it) must queue one import: the
        # second waits here for the first to commit, then finds the pending file gone.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"carbon-upload:{token}"])
        if not default_storage.exists(meta["csv"]):
            _pending_forget(request, token)
            messages.info(request, _("%(file)s was already confirmed: see the pipelines console.")
                          % {"file": meta["file_name"]})
            return redirect("upload:form")
        with default_storage.open(meta["csv"], "rb") as handle:
            content = handle.read()
        pipeline = import_enqueue(kind=meta["kind"], content=content, file_name=meta["file_name"],
                                  year=meta["year"], unit_cf=meta["unit_cf"], actor=request.user,
                                  skip_invalid=meta["skip_invalid"], request=request,
                                  category=meta.get("category"))
        _pending_forget(request, token)
    messages.success(request, _("%(file)s is queued: a worker imports it (pipeline #%(pipeline)s).")
                     % {"file": meta["file_name"], "pipeline": pipeline.pk})
    return redirect("upload:progress", pk=pipeline.pk)


@require_POST
@_admin_only
def cancel(request, token):
    meta = _pending(request, token)
    _pending_forget(request, token)
    messages.info(request, _("Upload of %(file)s cancelled: nothing was imported.") % {"file": meta["file_name"]})
    return redirect("upload:form")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(math.ceil(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _estimated_rows(job) -> int | None:
    """The import's row count is known only at its end: until then, estimate it from the file's size and
    the line density of its first 64 KiB (shown as an estimate)."""
    if not job.file:
        return None
    try:
        size = job.file.size
        with job.file.open("rb") as handle:
            head = handle.read(64 * 1024)
    except (OSError, ValueError):
        return None
    lines = head.count(b"\n") + (0 if head.endswith(b"\n") else 1)
    if not head or lines < 2:
        return None
    return max(round(lines * size / len(head)) - 1, 1)  # less the header line


def _console_url(pipeline_id: int) -> str:
    try:
        return reverse("admin:carbon_pipeline_change", args=[pipeline_id])
    except NoReverseMatch:  # the pipelines console is registered by another part of the admin
        return f"{reverse('admin:index')}carbon/pipeline/{pipeline_id}/change/"


@_admin_only
def progress(request, pk):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    jobs = list(pipeline.jobs.order_by("pk"))
    import_job = next((j for j in jobs if j.job_type == JobType.IMPORT), None)
    phase, phases = phase_of(pipeline)
    rows_total, estimated = None, False
    if import_job is not None:
        rows_total = import_job.rows_total
        if rows_total is None and not pipeline.is_done:
            rows_total, estimated = _estimated_rows(import_job), True
    eta = None
    if import_job and rows_total and import_job.rows_per_second and import_job.rows_done < rows_total:
        eta = (rows_total - import_job.rows_done) / import_job.rows_per_second
    errors = [{"job": j.pk, "kind": j.kind, **e} for j in jobs for e in j.errors]
    warnings = [{"job": j.pk, "kind": j.kind, **w} for j in jobs for w in j.warnings]
    summary = dict(import_job.summary) if import_job else {}
    if isinstance(summary.get("skipped_rows"), list):
        summary["skipped_rows"] = len(summary["skipped_rows"])
    return render(request, "admin/carbon/upload/progress.html", _context(
        request, f"Import pipeline #{pipeline.pk}", pipeline=pipeline, jobs=jobs, import_job=import_job,
        phase=phase, phases=phases, phase_label=PHASES.get(phase, ""), done=pipeline.is_done,
        rows_total=rows_total, rows_estimated=estimated, eta=_duration(eta), summary=summary,
        elapsed=_duration(((pipeline.finished_at or timezone.now()) - pipeline.started_at).total_seconds())
        if pipeline.started_at else "",
        errors_count=len(errors), warnings_count=len(warnings),
        errors_page=_page(request, errors, "errors_page"), warnings_page=_page(request, warnings, "warnings_page"),
        console_url=_console_url(pipeline.pk), kind_label=_kind_label_or_name(pipeline.kind)))


def _kind_label_or_name(kind: str) -> str:
    try:
        return kind_label(get_importer(kind))
    except KeyError:
        return kind


@_admin_only
def pipeline_errors_csv(request, pk):
    """Every row error of every job of the pipeline (the import's, and any follow-up's)."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    rows = [{"job": job.pk, "job_type": job.job_type, "kind": job.kind, **error}
            for job in pipeline.jobs.order_by("pk") for error in job.errors]
    emit("downloaded", source="admin", actor=request.user, obj=pipeline, request=request, list="pipeline errors",
         format="csv", rows=len(rows))
    return _csv_response(rows, ["job", "job_type", "kind", *ISSUE_HEADER], f"pipeline-{pipeline.pk}-errors.csv")
