"""Who may do what on a lab, from the one scoping function.

A lab member (VIEW_LAB scope) reads the lab: a principal every row, a standard user their own rows
(decision 16) of the kinds they may enter. A back-office role with the unit in its REPORT scope reads it too,
never writes. Everyone else gets a 404: a unit outside one's scope does not exist for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404

from carbon.models import CarbonReport
from modules.base import Entry, EntrySource
from modules.registry import KINDS, EntryKindSpec
from modules.selectors import owned_by
from units.models import Unit
from units.scoping import Action, unit_scope

__all__ = ["LAB_EDITABLE_SOURCES", "LabAccess", "lab_access", "lab_report", "lab_spec"]

# Rows the lab itself brought in; the back office's per-year files (and integrations) are read-only for labs.
LAB_EDITABLE_SOURCES = frozenset({EntrySource.USER_MANUAL, EntrySource.CSV_MODULE_UNIT_SPECIFIC,
                                  EntrySource.API_MODULE_UNIT_SPECIFIC})


@dataclass(frozen=True)
class LabAccess:
    user: object
    unit: Unit
    member: bool  # a lab member (principal or standard); False: back-office reader
    own_only: bool  # standard user: own rows of the kinds they may enter
    can_edit: bool
    can_validate: bool  # principal: validate, un-validate, upload

    def kind_visible(self, spec: EntryKindSpec) -> bool:
        return spec.standard_editable or not self.own_only

    def rows_q(self, spec: EntryKindSpec) -> Q:
        return owned_by(spec, self.user) if self.own_only else Q()

    def may_write_kind(self, spec: EntryKindSpec) -> bool:
        return self.can_edit and self.kind_visible(spec)

    def may_change(self, spec: EntryKindSpec, entry: Entry) -> bool:
        """Edit rights on the row: by role, by kind, by ownership and by where the row came from."""
        if not self.may_write_kind(spec) or entry.source not in LAB_EDITABLE_SOURCES:
            return False
        if self.own_only:
            owner = getattr(entry, spec.owner_field, None) if spec.owner_field else None
            return entry.created_by_id == self.user.pk or (owner and owner == self.user.institutional_id)
        return True


def lab_access(user, cf: str) -> LabAccess:
    unit = Unit.objects.filter(institutional_id=cf).first()
    if unit is None:
        raise Http404
    lab = unit_scope(user, Action.VIEW_LAB)
    if lab.contains(unit):
        own_only = lab.is_own_only(unit)
        return LabAccess(user=user, unit=unit, member=True, own_only=own_only,
                         can_edit=unit_scope(user, Action.EDIT_LAB).contains(unit),
                         can_validate=unit_scope(user, Action.VALIDATE).contains(unit))
    if unit_scope(user, Action.REPORT).contains(unit):
        return LabAccess(user=user, unit=unit, member=False, own_only=False, can_edit=False, can_validate=False)
    raise Http404


def lab_report(access: LabAccess, year: int) -> CarbonReport:
    """The unit's report of a year; lab members see only years opened for users."""
    reports = CarbonReport.objects.select_related("year", "unit").filter(unit=access.unit, year_id=year)
    if access.member:
        reports = reports.filter(year__is_started=True)
    report = reports.first()
    if report is None:
        raise Http404
    return report


def lab_spec(access: LabAccess, kind: str) -> EntryKindSpec:
    spec = KINDS.get(kind)
    if spec is None or not access.kind_visible(spec):
        raise Http404
    return spec
