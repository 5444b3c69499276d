"""The campaign view of a year, on the year's admin page (the year admin of `carbon`, extended)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

from carbon.admin import YEAR_PAGE_SECTIONS
from carbon.taxonomy import Module
from reporting.campaign import year_campaign

COLOURS = {"grey": "#9aa0a6", "red": "#c5221f", "amber": "#e8a317", "green": "#188038"}


def _job_cell(job) -> str:
    if job is None:
        return "—"
    return format_html('<a href="/admin/upload/pipeline/{}/">{} {}</a> {}', job.pipeline_id,
                       job.get_result_display() or job.get_state_display(), job.created_at.strftime("%Y-%m-%d %H:%M"),
                       job.file_name)


def campaign(obj):
    """The campaign view of a year, shown on the year's admin page (carbon.admin.YEAR_PAGE_SECTIONS)."""
    rows = []
    for module_setting, statuses in year_campaign(obj):
        for status in statuses:
            rows.append((
                COLOURS[status.colour], Module(module_setting.module).label, status.kind.label,
                "enabled" if module_setting.enabled and status.setting.enabled else "disabled",
                "; ".join(status.reasons) or "complete",
                _job_cell(status.latest_factor_job), _job_cell(status.latest_data_job),
                "yes" if status.needs_recalculation else "",
                "—" if status.setting.threshold is None else f"{status.setting.threshold} kg",
            ))
    body = format_html_join(
        "", '<tr><td><span style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
            'background:{}"></span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td></tr>", rows)
    return format_html(
        '<table><thead><tr><th></th><th>module</th><th>submodule</th><th>state</th><th>completeness</th>'
        "<th>latest factor upload</th><th>latest per-year data upload</th><th>needs recalculation</th>"
        "<th>threshold</th></tr></thead><tbody>{}</tbody></table>", body)


YEAR_PAGE_SECTIONS.append(campaign)
