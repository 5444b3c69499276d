"""The campaign view of a year: per module and submodule, what was uploaded and what is missing.

"Incomplete" is computed on the server from the data itself: a submodule is incomplete when a
mandatory factor kind has no factor for the year, or its reference data is empty. Data files are
never mandatory. Disabled modules and submodules are never incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carbon.jobs.models import Job, JobType
from carbon.models import ModuleSetting, RecalculationState, SubmoduleSetting, YearConfiguration
from carbon.taxonomy import DeclaredEntryKind, EntryKind, Module, entry_kinds_of
from factors.base import FACTOR_KINDS
from factors.models import BuildingRoom, Location
from modules.registry import KINDS

__all__ = ["SubmoduleStatus", "year_campaign", "year_incomplete_reasons"]

@dataclass
class SubmoduleStatus:
    kind: EntryKind | DeclaredEntryKind
    setting: SubmoduleSetting
    reasons: list[str] = field(default_factory=list)
    latest_factor_job: Job | None = None
    latest_data_job: Job | None = None
    needs_recalculation: bool = False

    @property
    def incomplete(self) -> bool:
        return bool(self.reasons)

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
                        status.reasons.append(f"missing_factor: no {factor_kind} factors for {year}")
                for ref in spec.required_reference if spec else ():
                    if not reference[ref]:
                        status.reasons.append(f"missing_reference: no {ref}")
            factor_names = {f"factors:{f}" for f in factor_kinds}
            status.latest_factor_job = next((j for j in jobs if j.kind in factor_names), None)
            status.latest_data_job = next((j for j in jobs if j.kind == name and not j.unit_cf), None)
            status.needs_recalculation = bool(name and recalc.get(name))
            statuses.append(status)
        result.append((module_setting, statuses))
    return result


def year_incomplete_reasons(config: YearConfiguration) -> list[str]:
    reasons = []
    for module_setting, statuses in year_campaign(config):
        for status in statuses:
            for reason in status.reasons:
                reasons.append(f"{Module(module_setting.module).label} / {status.kind.label}: {reason}")
    return reasons
