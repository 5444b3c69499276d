"""Lab web pages owned by the organisation app: the workspace (my labs)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from carbon.models import CarbonReport
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
