"""What every lab page starts from: the caller's access to the unit, the year's report, the module nav."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from carbon.models import CarbonReport
from carbon.taxonomy import Module
from lab.access import LabAccess, lab_access, lab_report
from lab.labels import module_label
from modules.registry import KINDS, EntryKindSpec, kinds_of_module


@dataclass(frozen=True)
class LabPage:
    access: LabAccess
    report: CarbonReport

    @property
    def year(self) -> int:
        return self.report.year_id

    @property
    def is_open(self) -> bool:
        return self.report.year.is_started

    def context(self, nav: str, **extra) -> dict:
        modules = [{"name": m.name, "label": module_label(m)} for m in Module
                   if any(self.access.kind_visible(spec) for spec in kinds_of_module(m))]
        return {"access": self.access, "report": self.report, "lab_modules": modules, "nav": nav, **extra}


def lab_page(request, cf: str, year: int) -> LabPage:
    access = lab_access(request.user, cf)
    return LabPage(access=access, report=lab_report(access, year))


def module_of(page: LabPage, name: str) -> Module:
    """A module the caller may open (a standard user: the modules with a kind they enter)."""
    try:
        module = Module.from_name(name)
    except ValueError:
        raise Http404 from None
    if not any(page.access.kind_visible(spec) for spec in kinds_of_module(module)):
        raise Http404
    return module


def page_spec(page: LabPage, module: Module, kind: str) -> EntryKindSpec:
    """An entry kind of `module` the caller may see (404 otherwise)."""
    spec = KINDS.get(kind)
    if spec is None or spec.module != module or not page.access.kind_visible(spec):
        raise Http404
    return spec
