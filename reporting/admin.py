"""The campaign view of a year, on the year's admin page (the year admin of `carbon`, extended).

Plain words, not codes: each missing item is a sentence ("No plane factors for 2026 — upload them.") linked
to the upload form with its kind and year chosen. The list of what is missing comes first, each item once;
the table below says it again per submodule.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext

from carbon.admin import YEAR_PAGE_SECTIONS
from carbon.taxonomy import Module
from reporting.campaign import year_campaign

COLOURS = {"grey": "#5f6368", "red": "#c5221f", "amber": "#b06000", "green": "#188038"}


def _state_words() -> dict[str, str]:
    return {"grey": gettext("disabled"), "red": gettext("missing something"), "amber": gettext("warnings"),
            "green": gettext("complete")}


def _job_cell(job) -> str:
    if job is None:
        return "—"
    return format_html('<a href="/admin/upload/pipeline/{}/">{} {}</a> {}', job.pipeline_id,
                       job.get_result_display() or job.get_state_display(), job.created_at.strftime("%Y-%m-%d %H:%M"),
                       job.file_name)


def _missing_links(missing) -> str:
    return format_html_join(" ", '<a href="{}">{}</a>', ((m.url, m.sentence()) for m in missing))


def campaign(obj):
    """The campaign view of a year, shown on the year's admin page (carbon.admin.YEAR_PAGE_SECTIONS)."""
    rows, missing = [], {}
    words = _state_words()
    for module_setting, statuses in year_campaign(obj):
        for status in statuses:
            missing.update(dict.fromkeys(status.missing))
            enabled = module_setting.enabled and status.setting.enabled
            rows.append((
                COLOURS[status.colour], words[status.colour], gettext(Module(module_setting.module).label),
                gettext(status.kind.label),
                gettext("enabled") if enabled else gettext("disabled"),
                _missing_links(status.missing) if status.missing else gettext("complete"),
                _job_cell(status.latest_factor_job), _job_cell(status.latest_data_job),
                gettext("yes") if status.needs_recalculation else "",
                "—" if status.setting.threshold is None else f"{status.setting.threshold.normalize():,f} kg",
            ))
    if missing:
        summary = format_html(
            '<div class="campaign-missing"><p><strong>{}</strong></p><ul>{}</ul></div>',
            ngettext("%(count)d thing is missing before the year can be opened:",
                     "%(count)d things are missing before the year can be opened:", len(missing))
            % {"count": len(missing)},
            format_html_join("", '<li><a href="{}">{}</a></li>', ((m.url, m.sentence()) for m in missing)))
    else:
        summary = format_html("<p>{}</p>", gettext("Nothing is missing: every enabled submodule has its factors "
                                                   "and reference data."))
    body = format_html_join(
        "", '<tr><td><span style="color:{}">●</span> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td></tr>", rows)
    headers = format_html_join("", "<th>{}</th>", ((h,) for h in (
        gettext("status"), gettext("module"), gettext("submodule"), gettext("state"), gettext("what is missing"),
        gettext("latest factor upload"), gettext("latest per-year data upload"), gettext("needs recalculation"),
        gettext("threshold"))))
    progress = format_html('<p><a href="{}?{}">{}</a></p>', reverse("reporting-progress"),
                           urlencode({"year": obj.year}),
                           gettext("Follow the labs' progress for %(year)s →") % {"year": obj.year})
    return format_html("{}{}<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", summary, progress, headers,
                       body)


YEAR_PAGE_SECTIONS.append(campaign)
