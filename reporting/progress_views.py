"""`/admin/reporting/progress/`: the campaign's progress for the back office (metier and admin roles).

GET only. The units come from `units.scoping.clamp` with the REPORT action: a metier's affiliation filter
never widens their scope; a user with no REPORT scope (lab users, auditors) gets 403. Charts are drawn on the
server (`reporting.charts`, SVG inlined), each with its data as a table next to it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from carbon.models import ModuleStatus, YearConfiguration
from reporting.charts import render_svg, trajectory_chart, validation_timeline_chart
from reporting.links import lab_results_url
from reporting.progress import progress_matrix, trajectory, validations_per_day
from units.models import Unit
from units.scoping import Action, clamp, unit_scope

__all__ = ["STATUS_STYLE", "progress_view"]

# Text first, colour second: each cell says its status in words and carries a symbol; the colour only helps.
STATUS_STYLE = {
    ModuleStatus.NOT_STARTED: ("○", "progress-not-started", "#f1f3f4"),
    ModuleStatus.IN_PROGRESS: ("◐", "progress-in-progress", "#fef7e0"),
    ModuleStatus.VALIDATED: ("●", "progress-validated", "#e6f4ea"),
}


def _status_words() -> dict[ModuleStatus, str]:
    return {ModuleStatus.NOT_STARTED: gettext("not started"), ModuleStatus.IN_PROGRESS: gettext("in progress"),
            ModuleStatus.VALIDATED: gettext("validated")}


def _chart(spec):
    return mark_safe(render_svg(spec)) if spec else None  # noqa: S308 - vl-convert's own SVG, data escaped by Vega


def progress_view(admin_site):
    @require_GET
    def view(request):
        scope = unit_scope(request.user, Action.REPORT)
        if scope.is_empty:
            raise PermissionDenied
        years = list(YearConfiguration.objects.order_by("-year").values_list("year", flat=True))
        try:
            year = int(request.GET.get("year") or (years[0] if years else 0))
        except ValueError:
            year = years[0] if years else 0
        affiliation = (request.GET.get("affiliation") or "").strip()[:32]
        units = clamp(request.user, Action.REPORT, affiliation_cfs=[affiliation] if affiliation else None)
        matrix = progress_matrix(year=year, units=units)
        words = _status_words()
        rows = [{"unit": row.unit, "url": lab_results_url(row.unit.institutional_id, year), "validated": row.validated,
                 "cells": [{"status": s, "words": words[s], "symbol": STATUS_STYLE[s][0],
                            "css": STATUS_STYLE[s][1], "background": STATUS_STYLE[s][2]} for s in row.statuses]}
                for row in matrix.rows]
        counts = [{"words": words[s], "count": n, "symbol": STATUS_STYLE[s][0], "css": STATUS_STYLE[s][1],
                   "background": STATUS_STYLE[s][2]} for s, n in matrix.counts.items()]
        per_day = validations_per_day(year=year, units=units)
        path = trajectory(year=year, units=units)
        # The affiliations a user may pick: the non-lab units of their scope.
        affiliations = scope.units().filter(level__lt=4, is_active=True).order_by("path_name")
        context = {
            **admin_site.each_context(request),
            "title": gettext("Campaign progress %(year)s") % {"year": year},
            "year": year, "years": years, "affiliation": affiliation, "affiliations": affiliations,
            "affiliation_unit": Unit.objects.filter(institutional_id=affiliation).first() if affiliation else None,
            "modules": [gettext(m.label) for m in matrix.modules], "rows": rows, "counts": counts,
            "validated_per_module": matrix.module_counts(ModuleStatus.VALIDATED),
            "cells": sum(c["count"] for c in counts),
            "per_day": per_day, "validations_svg": _chart(validation_timeline_chart(per_day)),
            "trajectory": path, "trajectory_svg": _chart(trajectory_chart(path.years, path.objectives)),
        }
        return TemplateResponse(request, "admin/reporting/progress.html", context)

    return view
