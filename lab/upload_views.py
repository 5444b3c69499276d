"""A unit CSV file from a module page (the principal): upload → every row checked (preview with the row
errors) → confirm → a job → progress → the rows appear. The file waits in storage between preview and
confirm, under a token kept in the session (one person, one browser)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from carbon.jobs.models import Job
from lab.labels import label, module_label
from lab.pages import LabPage, lab_page, module_of, page_spec
from lab.uploads import UPLOAD_MAX_BYTES, upload_check, upload_queue
from modules.registry import KINDS

SESSION_KEY = "lab_uploads"

# The categories (submodules) of the kinds that hold several, as people read them; the values are the registry's.
CATEGORY_LABELS = {
    "scientific_equipment": gettext_noop("Scientific equipment"), "it_equipment": gettext_noop("IT equipment"),
    "consumable_accessories": gettext_noop("Consumables and accessories"),
    "biological_chemical_gaseous_product": gettext_noop("Biological, chemical and gaseous products"),
    "services": gettext_noop("Services"), "vehicles": gettext_noop("Vehicles"),
    "other_purchases": gettext_noop("Other purchases"),
    "scientific": gettext_noop("Scientific equipment"), "it": gettext_noop("IT equipment"),
    "other": gettext_noop("Other equipment"),
}


def category_options(spec) -> list[tuple[str, str]]:
    """(value, label) of the kind's categories; empty for a kind with one."""
    return [(c, _(CATEGORY_LABELS.get(c, c))) for c in spec.categories]


def _allowed(page: LabPage) -> None:
    if not page.is_open or not page.access.can_validate:
        raise PermissionDenied


def _context(page: LabPage, module, spec, **extra) -> dict:
    back = reverse("lab:module", args=[page.access.unit.institutional_id, page.year, module.name])
    return page.context(module.name, module=module, module_name=module_label(module), spec=spec,
                        kind_label=label(spec.label), back=back, categories=category_options(spec), **extra)


@login_required
def upload(request, cf: str, year: int, module: str, kind: str):
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    spec = page_spec(page, module, kind)
    _allowed(page)
    error = None
    category = request.POST.get("category") or None
    if request.method == "POST":
        file = request.FILES.get("file")
        if file is None:
            error = _("Choose a CSV file.")
        elif category is not None and category not in spec.categories:
            error = _("Choose one of the listed categories.")
        elif file.size > UPLOAD_MAX_BYTES:
            error = _("The file is larger than %(mb)s MB.") % {"mb": UPLOAD_MAX_BYTES // (1024 * 1024)}
        else:
            content = file.read()
            check = upload_check(spec, unit=page.access.unit, year=page.year, content=content, actor=request.user,
                                 category=category)
            token = uuid.uuid4().hex
            default_storage.save(f"lab-uploads/{token}.csv", ContentFile(content))
            pending = request.session.get(SESSION_KEY, {})
            pending[token] = {"kind": spec.name, "cf": cf, "year": year, "name": file.name[:200], "check": check,
                              "category": category}
            request.session[SESSION_KEY] = dict(list(pending.items())[-5:])  # a few tabs, never unbounded
            return redirect("lab:upload_preview", cf, year, module.name, spec.name, token)
    return render(request, "lab/upload.html", _context(page, module, spec, error=error, category=category),
                  status=400 if error else 200)


@login_required
def preview(request, cf: str, year: int, module: str, kind: str, token: str):
    """GET: the check of every row; POST: confirm (a valid file only) or cancel."""
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    spec = page_spec(page, module, kind)
    _allowed(page)
    pending = request.session.get(SESSION_KEY, {})
    meta = pending.get(token)
    if meta is None or (meta["kind"], meta["cf"], meta["year"]) != (spec.name, cf, year):
        raise Http404
    path = f"lab-uploads/{token}.csv"
    if request.method == "POST":
        pending.pop(token)
        request.session[SESSION_KEY] = pending
        if "cancel" in request.POST or meta["check"]["failed"]:
            default_storage.delete(path)
            messages.info(request, _("Upload cancelled: nothing was imported."))
            return redirect(reverse("lab:module", args=[cf, year, module.name]))
        with default_storage.open(path, "rb") as handle:
            content = handle.read()
        default_storage.delete(path)
        job = upload_queue(spec, unit=page.access.unit, year=year, content=content, file_name=meta["name"],
                           actor=request.user, request=request, category=meta.get("category"))
        return redirect("lab:job", cf, year, job.pk)
    return render(request, "lab/upload_preview.html", _context(
        page, module, spec, meta=meta, check=meta["check"], token=token,
        category_label=dict(category_options(spec)).get(meta.get("category"))))


@login_required
def progress(request, cf: str, year: int, job: int):
    """The import's progress (the page polls /api/v1/jobs/{id}/), then a link back to the rows."""
    page = lab_page(request, cf, year)
    job = Job.objects.filter(pk=job, created_by=request.user, unit_cf=cf, year=year).first()
    if job is None:
        raise Http404
    spec = KINDS[job.kind]  # jobs of this page are unit files of an entry kind
    return render(request, "lab/progress.html", page.context(
        spec.module.name, job=job, back=reverse("lab:module", args=[cf, year, spec.module.name]),
        kind_label=label(spec.label)))
