"""Lab pages: the workspace (my labs), the overview of a lab's year, the language switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import check_for_language
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from carbon.models import CarbonReport
from lab.api.report import report_summary
from lab.labels import label
from lab.pages import lab_page
from units.scoping import lab_memberships


@login_required
def workspace(request):
    memberships = lab_memberships(request.user)
    reports = (CarbonReport.objects.filter(unit__in=[m.unit for m in memberships], year__is_started=True)
               .select_related("year", "unit").prefetch_related("modules"))
    by_unit: dict[int, list] = {}
    for report in reports:
        by_unit.setdefault(report.unit_id, []).append(report)
    rows = [{"unit": m.unit, "role": m.role, "reports": by_unit.get(m.unit.pk, [])} for m in memberships]
    return render(request, "lab/workspace.html", {"rows": rows})


@login_required
def overview(request, cf: str, year: int):
    """The eight modules of a lab's year: status, total, completion, and why a validated module reopened."""
    page = lab_page(request, cf, year)
    data = report_summary(page.access, page.report)
    for module in data["modules"]:
        module["label"] = label(module["label"])
    return render(request, "lab/overview.html", page.context("overview", data=data))


@require_POST
def language(request):
    """Django's switcher (the language cookie; back to the page it came from, checked), and for a signed-in
    person their choice on the user too, so it follows them to other devices."""
    code = request.POST.get("language", "")
    if request.user.is_authenticated and check_for_language(code):
        request.user.language = code
        request.user.save(update_fields=["language"])
    return set_language(request)
