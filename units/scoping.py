"""The one scoping function: which units a user may see or change for an action.

Every surface (admin changelists, change/delete/history views, autocomplete, FK dropdowns,
import, export, API viewsets, results, auditor pages) asks `unit_scope(user, action)` and
applies the answer with `.units()`, `.q(prefix)` or `.rows_q(prefix, owned)` (own rows of standard
users). Nothing else decides scope: the workspace (`lab_memberships`), the importers (`import_refusal`)
and "is back-office admin" are derived from it here.

Scope kinds:
- own / unit: exactly the anchor unit (row ownership for `own` is checked on the row);
- affiliation: the anchor and its whole subtree, by whole-token match on the code path
  (array overlap, so `142` never matches `1420`); several anchors are united;
- global: every unit.
An unknown action denies.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from units.models import PathTokens, Unit
from units.roles import ROLE_PRIORITY, Role, ScopeKind
from units.selectors import user_roles

__all__ = ["Action", "LabMembership", "UnitScope", "can", "clamp", "is_backoffice_admin", "lab_memberships",
           "import_refusal", "unit_scope", "units_for"]

logger = logging.getLogger(__name__)


class Action(enum.StrEnum):
    VIEW_LAB = "view_lab"  # read a lab's entries and results (own rows for standard users)
    EDIT_LAB = "edit_lab"  # create/change/delete entries (own rows for standard users)
    VALIDATE = "validate"  # validate / un-validate a module
    REPORT = "report"  # back-office reporting and exports
    AUDIT = "audit"  # read the history and audit trail
    MANAGE = "manage"  # back-office configuration: units, years, factors, reference data, users
    BROWSE = "browse"  # read the organisation in the back office (any back-office role)


ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.VIEW_LAB: frozenset({Role.STANDARD, Role.PRINCIPAL}),
    Action.EDIT_LAB: frozenset({Role.STANDARD, Role.PRINCIPAL}),
    Action.VALIDATE: frozenset({Role.PRINCIPAL}),
    Action.REPORT: frozenset({Role.METIER, Role.ADMIN}),
    Action.AUDIT: frozenset({Role.AUDITOR, Role.ADMIN}),
    Action.MANAGE: frozenset({Role.ADMIN}),
    Action.BROWSE: frozenset({Role.METIER, Role.AUDITOR, Role.ADMIN}),
}


@dataclass(frozen=True)
class UnitScope:
    """The answer of the scoping function for one (user, action)."""

    is_global: bool = False
    exact_codes: frozenset[str] = field(default_factory=frozenset)  # own / unit anchors
    own_codes: frozenset[str] = field(default_factory=frozenset)  # subset of exact: own rows only
    subtree_codes: frozenset[str] = field(default_factory=frozenset)  # affiliation anchors

    @property
    def is_empty(self) -> bool:
        return not (self.is_global or self.exact_codes or self.subtree_codes)

    def q(self, prefix: str = "") -> Q:
        """A filter on a model reaching `Unit` through `prefix` (e.g. `"unit__"`, or "" for Unit)."""
        if self.is_global:
            return Q()
        if self.is_empty:
            return Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
        unit_ids = Unit.objects.filter(self._unit_q()).values("pk")
        return Q(pk__in=unit_ids) if not prefix else Q(**{f"{prefix}pk__in": unit_ids})

    def units(self) -> QuerySet[Unit]:
        if self.is_global:
            return Unit.objects.all()
        if self.is_empty:
            return Unit.objects.none()
        return Unit.objects.filter(self._unit_q())

    def contains(self, unit: Unit | None) -> bool:
        if unit is None:
            return False
        if self.is_global:
            return True
        if unit.institutional_code in self.exact_codes:
            return True
        tokens = set((unit.path_institutional_code or "").split())
        return bool(tokens & self.subtree_codes)

    def without_own(self) -> UnitScope:
        """The units reached in full (every row), leaving out the own-rows-only units."""
        return UnitScope(is_global=self.is_global, exact_codes=self.exact_codes - self.own_codes,
                         subtree_codes=self.subtree_codes)

    def rows_q(self, prefix: str, owned: Q) -> Q:
        """A filter on rows reaching `Unit` through `prefix`: every row of the units reached in full, and in
        own-rows-only units just the rows matching `owned` (the row's traveller or creator, decision 16)."""
        if not self.own_codes:
            return self.q(prefix)
        own_units = Q(**{f"{prefix}institutional_code__in": sorted(self.own_codes)})
        return self.without_own().q(prefix) | (own_units & owned)

    def is_own_only(self, unit: Unit) -> bool:
        """True when the user's access to this unit is limited to their own rows."""
        if self.is_global or unit.institutional_code not in self.own_codes:
            return False
        full = self.exact_codes - self.own_codes
        tokens = set((unit.path_institutional_code or "").split())
        return unit.institutional_code not in full and not (tokens & self.subtree_codes)

    def _unit_q(self) -> Q:
        condition = Q(institutional_code__in=sorted(self.exact_codes)) if self.exact_codes else Q(pk__in=[])
        if self.subtree_codes:
            subtree_ids = Unit.objects.alias(path_tokens=PathTokens()).filter(
                path_tokens__overlap=sorted(self.subtree_codes)
            ).values("pk")
            condition |= Q(pk__in=subtree_ids)
        return condition


def unit_scope(user, action: Action | str) -> UnitScope:
    try:
        action = Action(action)
    except ValueError:
        logger.warning("unknown action %r denied", action)
        return UnitScope()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return UnitScope()
    allowed = ACTION_ROLES[action]
    if user.is_superuser and action not in {Action.VIEW_LAB, Action.EDIT_LAB, Action.VALIDATE}:
        return UnitScope(is_global=True)
    exact: set[str] = set()
    own: set[str] = set()
    subtree: set[str] = set()
    for held in user_roles(user):
        if held.role not in allowed:
            continue
        if held.kind is ScopeKind.GLOBAL:
            return UnitScope(is_global=True)
        if held.kind is ScopeKind.AFFILIATION:
            subtree.add(held.unit_code)
        else:
            exact.add(held.unit_code)
            if held.kind is ScopeKind.OWN:
                own.add(held.unit_code)
    # A principal grant on a unit lifts an `own` grant on the same unit to the whole unit.
    full_units = {h.unit_code for h in user_roles(user) if h.role in allowed and h.kind is ScopeKind.UNIT}
    return UnitScope(exact_codes=frozenset(exact), own_codes=frozenset(own - full_units),
                     subtree_codes=frozenset(subtree))


def is_backoffice_admin(user) -> bool:
    """The one predicate for "may run the whole back office" (uploads, console, any job)."""
    return unit_scope(user, Action.MANAGE).is_global


@dataclass(frozen=True)
class LabMembership:
    unit: Unit
    role: Role  # principal (every row of the lab) or standard (own rows only)


def lab_memberships(user) -> list[LabMembership]:
    """The active level-4 units a lab user works in, principal ones first — straight from the scope."""
    scope = unit_scope(user, Action.VIEW_LAB)
    units = scope.units().filter(level=4, is_active=True).order_by("name")
    memberships = [LabMembership(unit=u, role=Role.STANDARD if scope.is_own_only(u) else Role.PRINCIPAL)
                   for u in units]
    return sorted(memberships, key=lambda m: (ROLE_PRIORITY[m.role], m.unit.name))


NOT_ALLOWED_TO_IMPORT = "not allowed: this file needs a back-office admin (or, for a unit's own file, its principal)"


def import_refusal(actor, unit_cf: str | None = None) -> str | None:
    """The reason an import on behalf of `actor` is refused, or None when it is allowed: a unit's own file
    by its principal (or a back-office admin), anything else (per-year files, factors, reference data,
    units, users) by a back-office admin. No actor: the operator's command line, which is not scoped.

    Registered as the import framework's access policy (infra.importing), so every importer asks it first.
    An unknown unit is refused like a foreign one unless the actor may see everything (nothing revealed)."""
    if actor is None or is_backoffice_admin(actor):
        return None
    unit = Unit.objects.filter(institutional_id=unit_cf).first() if unit_cf else None
    allowed = unit is not None and unit_scope(actor, Action.VALIDATE).contains(unit)
    return None if allowed else NOT_ALLOWED_TO_IMPORT


def units_for(user, action: Action | str) -> QuerySet[Unit]:
    return unit_scope(user, action).units()


def can(user, action: Action | str, unit: Unit | None) -> bool:
    return unit_scope(user, action).contains(unit)


def clamp(user, action: Action | str, *, affiliation_cfs: list[str] | None = None,
          lab_cfs: list[str] | None = None) -> QuerySet[Unit]:
    """Units a reporting query may cover, given the user's filters.

    filter set = descendants of the chosen affiliations ∪ the chosen labs. A global caller with no
    filters gets everything; a scoped caller gets scope ∩ filter set and never more than its scope.
    """
    scope_units = units_for(user, action)
    if not affiliation_cfs and not lab_cfs:
        return scope_units
    filter_q = Q(pk__in=[])
    if affiliation_cfs:
        anchors = list(Unit.objects.filter(institutional_id__in=affiliation_cfs)
                       .values_list("institutional_code", flat=True))
        if anchors:
            filter_q |= Q(pk__in=Unit.objects.alias(path_tokens=PathTokens())
                          .filter(path_tokens__overlap=anchors).values("pk"))
    if lab_cfs:
        filter_q |= Q(institutional_id__in=lab_cfs, level=4)
    return scope_units.filter(filter_q)
