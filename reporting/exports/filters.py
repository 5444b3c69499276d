"""The filters of every back-office export, and the clamp that keeps them inside the caller's scope.

`ReportFilters.from_query(query, user)` reads a query dict (the admin's form, or the command line's options) and
refuses bad values with a `FilterError` that names the parameter (a 400 on the web, a CommandError on the command
line). The units it covers are ALWAYS `scope ∩ filter`: `units.scoping.clamp` with `Action.REPORT` for a user, so a
scoped user's filters never widen their scope. `user=None` is the operator's command line, which is not scoped
(and says so in its audit event).

Two sets come out of it:
- `units()` — the reach: the roll-up domain (the caller's scope ∩ the unit filter, each anchor with its subtree);
  a parent's row sums its subtree within the reach;
- `reports()` — the rows shown: the reports of the chosen years in the reach that also match completion, module
  status and search. A filter on rows never changes a shown row's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from carbon.models import CarbonReport, ModuleReport, ModuleStatus, YearConfiguration
from carbon.taxonomy import Module
from units.models import PathTokens, Unit
from units.scoping import Action, clamp, unit_scope

__all__ = ["COMPLETIONS", "FilterError", "ReportFilters"]

COMPLETIONS = ("not_started", "in_progress", "validated")
_STATUS_WORDS = {"0": ModuleStatus.NOT_STARTED, "1": ModuleStatus.IN_PROGRESS, "2": ModuleStatus.VALIDATED,
                 "not_started": ModuleStatus.NOT_STARTED, "in_progress": ModuleStatus.IN_PROGRESS,
                 "validated": ModuleStatus.VALIDATED}
MAX_SEARCH = 100


class FilterError(ValueError):
    """A filter value the export cannot use: `parameter` names it, the message says why."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def _values(query: Mapping, name: str) -> list[str]:
    """Every value of `name` (repeated parameters and comma-separated lists), trimmed, empty ones dropped."""
    raw = query.getlist(name) if hasattr(query, "getlist") else query.get(name) or []
    if isinstance(raw, str | int):
        raw = [raw]
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


@dataclass(frozen=True)
class ReportFilters:
    years: tuple[int, ...]
    unit_cfs: tuple[str, ...] = ()  # each with its subtree
    completion: tuple[str, ...] = ()  # of COMPLETIONS; empty = any
    module_statuses: tuple[tuple[int, int], ...] = ()  # (module, status); empty = any
    search: str = ""
    user: object = None  # None: the operator's command line (unscoped)

    # --- reading -------------------------------------------------------------------------------------------
    @classmethod
    def from_query(cls, query: Mapping, user, *, default_latest_year: bool = False) -> ReportFilters:
        """Parameters: `year` (one or more; required unless `default_latest_year`), `unit` (cfs; each with its
        subtree; `affiliation` is the same), `completion` (not_started | in_progress | validated), `modules`
        (`module:status`, e.g. `professional_travel:2` or `headcount:validated`), `search` (name or code)."""
        known = set(YearConfiguration.objects.values_list("year", flat=True))
        years = []
        for text in _values(query, "year"):
            if not text.isdigit() or int(text) not in known:
                raise FilterError("year", _("unknown year %(year)s") % {"year": text[:20]})
            years.append(int(text))
        if not years:
            if not default_latest_year or not known:
                raise FilterError("year", _("choose at least one year"))
            years = [max(known)]
        cfs = tuple(dict.fromkeys(_values(query, "unit") + _values(query, "affiliation")))
        visible = cls._scope_units(user)
        usable = [cf for cf in cfs if "\x00" not in cf and len(cf) <= 64]  # never a database error
        found = set(visible.filter(institutional_id__in=usable).values_list("institutional_id", flat=True))
        for cf in cfs:
            if cf not in found:  # the same answer for a unit that does not exist and one outside the scope
                raise FilterError("unit", _("unknown unit %(cf)s (or outside your scope)") % {
                    "cf": cf[:40].replace("\x00", "")})
        completion = tuple(dict.fromkeys(_values(query, "completion")))
        for word in completion:
            if word not in COMPLETIONS:
                raise FilterError("completion", _("%(value)s is not one of %(choices)s") % {
                    "value": word[:40], "choices": ", ".join(COMPLETIONS)})
        pairs = []
        for text in _values(query, "modules"):
            name, _sep, status = text.partition(":")
            try:
                module = Module.from_name(name.replace("-", "_"))
            except (KeyError, ValueError):
                raise FilterError("modules", _("Invalid module type %(value)s") % {"value": name[:40]}) from None
            if status not in _STATUS_WORDS:
                raise FilterError("modules", _("Invalid module status %(value)s (0, 1, 2 or a status name)")
                                  % {"value": status[:40]})
            pairs.append((int(module), int(_STATUS_WORDS[status])))
        search = " ".join(_values(query, "search"))
        if len(search) > MAX_SEARCH or "\x00" in search:
            raise FilterError("search", _("a search has at most %(n)s characters") % {"n": MAX_SEARCH})
        return cls(years=tuple(sorted(set(years))), unit_cfs=cfs, completion=completion,
                   module_statuses=tuple(dict.fromkeys(pairs)), search=search, user=user)

    @staticmethod
    def _scope_units(user) -> QuerySet[Unit]:
        return Unit.objects.all() if user is None else unit_scope(user, Action.REPORT).units()

    # --- what it selects ---------------------------------------------------------------------------------
    @property
    def is_scoped(self) -> bool:
        return self.user is not None

    def units(self) -> QuerySet[Unit]:
        """The reach: scope ∩ (the chosen units with their subtrees); every unit of the scope without a filter."""
        if self.user is not None:
            return clamp(self.user, Action.REPORT, affiliation_cfs=list(self.unit_cfs))
        if not self.unit_cfs:
            return Unit.objects.all()
        anchors = list(Unit.objects.filter(institutional_id__in=self.unit_cfs)
                       .values_list("institutional_code", flat=True))
        return Unit.objects.filter(pk__in=Unit.objects.alias(path_tokens=PathTokens())
                                   .filter(path_tokens__overlap=anchors).values("pk"))

    def reports(self) -> QuerySet[CarbonReport]:
        """The reports shown: the years in the reach, matching completion, module status and search."""
        reports = CarbonReport.objects.filter(year_id__in=self.years, unit__in=self.units())
        if self.search:
            reports = reports.filter(Q(unit__name__icontains=self.search)
                                     | Q(unit__institutional_code__icontains=self.search)
                                     | Q(unit__institutional_id__icontains=self.search))
        if self.completion:
            reports = reports.annotate(
                done=Count("modules", filter=Q(modules__status=ModuleStatus.VALIDATED)), module_count=Count("modules"))
            condition = Q(pk__in=[])
            if "not_started" in self.completion:
                condition |= Q(done=0)
            if "in_progress" in self.completion:
                condition |= Q(done__gt=0) & ~Q(done=F("module_count"))
            if "validated" in self.completion:
                condition |= Q(done__gt=0, done=F("module_count"))
            reports = reports.filter(condition)
        if self.module_statuses:
            matching = Q(pk__in=[])
            for module, status in self.module_statuses:
                matching |= Q(module=module, status=status)
            reports = reports.filter(pk__in=ModuleReport.objects.filter(matching).values("report_id"))
        return reports

    def describe(self) -> dict:
        """For the audit event and the files' README: the filters as plain values."""
        return {"years": list(self.years), "units": list(self.unit_cfs), "completion": list(self.completion),
                "modules": [f"{Module(m).name}:{ModuleStatus(s).name.lower()}" for m, s in self.module_statuses],
                "search": self.search, "scoped": self.is_scoped}
