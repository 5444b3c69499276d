"""The campaign view of a year: per module and submodule, what was uploaded and what is missing.

"Incomplete" is computed on the server from the data itself: a submodule is incomplete when a
mandatory factor kind has no factor for the year, or its reference data is empty. Data files are
never mandatory. Disabled modules and submodules are never incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy

from carbon.jobs.models import Job, JobType
from carbon.models import ModuleSetting, RecalculationState, SubmoduleSetting, YearConfiguration
from carbon.taxonomy import DeclaredEntryKind, EntryKind, Module, entry_kinds_of
from factors.base import FACTOR_KINDS
from factors.models import BuildingRoom, Location
from modules.registry import KINDS

__all__ = ["Missing", "SubmoduleStatus", "upload_url", "year_campaign", "year_incomplete_reasons", "year_missing"]

# Reference data a kind may require (`EntryKindSpec.required_reference`): its name in a sentence and the
# import kind of the upload form that provides it.
REFERENCE_UPLOADS = {
    "airports": (gettext_lazy("airports"), "locations"),
    "train stations": (gettext_lazy("train stations"), "locations"),
    "building rooms": (gettext_lazy("building rooms"), "building_rooms"),
}


def upload_url(import_kind: str, year: int | None = None) -> str:
    """The admin upload form, its kind (and year) chosen: what fixes a missing item."""
    query = {"kind": import_kind, **({"year": year} if year is not None else {})}
    return f"{reverse('upload:form')}?{urlencode(query)}"


@dataclass(frozen=True)
class Missing:
    """One thing a year lacks, said in plain words, with the upload that provides it.

    `what` is "factor" (a factor kind with no factor for the year) or "reference" (reference data, not per
    year). Equal items (two submodules needing the same file) are one item in the short list.
    """

    what: str
    name: str  # the factor kind's name, or the reference data's key in REFERENCE_UPLOADS
    year: int

    @property
    def import_kind(self) -> str:
        return f"factors:{self.name}" if self.what == "factor" else REFERENCE_UPLOADS[self.name][1]

    @property
    def url(self) -> str:
        return upload_url(self.import_kind, self.year if self.what == "factor" else None)

    def sentence(self) -> str:
        """e.g. "No plane factors for 2026 — upload them.", in the active language."""
        if self.what == "factor":
            plural = FACTOR_KINDS[self.name].model._meta.verbose_name_plural
            return gettext("No %(factors)s for %(year)s — upload them.") % {"factors": plural, "year": self.year}
        return gettext("No %(data)s — upload them.") % {"data": REFERENCE_UPLOADS[self.name][0]}

    def __str__(self) -> str:
        return self.sentence()


@dataclass
class SubmoduleStatus:
    kind: EntryKind | DeclaredEntryKind
    setting: SubmoduleSetting
    missing: list[Missing] = field(default_factory=list)
    latest_factor_job: Job | None = None
    latest_data_job: Job | None = None
    needs_recalculation: bool = False

    @property
    def reasons(self) -> list[str]:
        return [m.sentence() for m in self.missing]

    @property
    def incomplete(self) -> bool:
        return bool(self.missing)

    @property
    def colour(self) -> str:
        """Card colour: disabled grey, missing red, failed upload amber-red, warnings amber, else green."""
        if not self.setting.enabled:
            return "grey"
        if self.incomplete:
            return "red"
        job = self.latest_data_job or self.latest_factor_job
        if job is not None and job.result == "error":
            return "red"
        if job is not None and job.result == "warning":
            return "amber"
        return "green"


def _reference_present() -> dict[str, bool]:
    return {"airports": Location.objects.filter(transport_mode="plane").exists(),
            "train stations": Location.objects.filter(transport_mode="train").exists(),
            "building rooms": BuildingRoom.objects.exists()}


def _spec_of(kind: EntryKind | DeclaredEntryKind):
    """The registry entry of a taxonomy kind: what it needs (`factor_kinds`, `required_reference`) and its
    name; None for the derived embodied energy, which has no entries of its own."""
    return next((spec for spec in KINDS.values() if kind in spec.kinds), None)


def year_campaign(config: YearConfiguration) -> list[tuple[ModuleSetting, list[SubmoduleStatus]]]:
    year = config.year
    factor_years = {name: spec.model.objects.filter(year=year).exists() for name, spec in FACTOR_KINDS.items()}
    reference = _reference_present()
    # Only what the cards show: a job's row errors can be large.
    jobs = list(Job.objects.filter(year=year, job_type=JobType.IMPORT).order_by("-pk")
                .only("pk", "pipeline_id", "kind", "unit_cf", "state", "result", "created_at", "file_name"))
    recalc = {s.kind: s.needs_recalculation for s in RecalculationState.objects.filter(year=year)}
    settings = {s.kind: s for s in SubmoduleSetting.objects.filter(year=config)}
    result = []
    for module_setting in ModuleSetting.objects.filter(year=config).order_by("module"):
        module = Module(module_setting.module)
        statuses = []
        for kind in entry_kinds_of(module):
            setting = settings.get(kind.value)
            if setting is None:
                continue
            status = SubmoduleStatus(kind=kind, setting=setting)
            spec = _spec_of(kind)
            name = spec.name if spec else None
            factor_kinds = spec.factor_kinds if spec else ()
            if module_setting.enabled and setting.enabled:
                for factor_kind in factor_kinds:
                    if not factor_years.get(factor_kind):
                        status.missing.append(Missing("factor", factor_kind, year))
                for ref in spec.required_reference if spec else ():
                    if not reference[ref]:
                        status.missing.append(Missing("reference", ref, year))
            factor_names = {f"factors:{f}" for f in factor_kinds}
            status.latest_factor_job = next((j for j in jobs if j.kind in factor_names), None)
            status.latest_data_job = next((j for j in jobs if j.kind == name and not j.unit_cf), None)
            status.needs_recalculation = bool(name and recalc.get(name))
            statuses.append(status)
        result.append((module_setting, statuses))
    return result


def year_missing(config: YearConfiguration) -> list[Missing]:
    """What the year lacks, each item once, in the campaign's order (module, then submodule)."""
    found: dict[Missing, None] = {}
    for _module_setting, statuses in year_campaign(config):
        for status in statuses:
            found.update(dict.fromkeys(status.missing))
    return list(found)


def year_incomplete_reasons(config: YearConfiguration) -> list[str]:
    """The open-year check (`carbon.services.OPEN_YEAR_CHECKS`): one sentence per missing item."""
    return [m.sentence() for m in year_missing(config)]
