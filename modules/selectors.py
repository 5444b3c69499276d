"""Reads of entries, through the one scoping function — what the lab API and pages will list.

A principal sees every row of their lab; a standard user only their own rows (decision 16: they are the
row's traveller or its creator) and only of the kinds they may enter; the back office reads its scope.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from modules.registry import EntryKindSpec
from units.scoping import Action, unit_scope

__all__ = ["UNIT_PATH", "entries_for", "owned_by"]

UNIT_PATH = "module_report__report__unit__"


def owned_by(spec: EntryKindSpec, user) -> Q:
    """The rows of `spec` that belong to `user`: created by them, or naming them in the kind's owner field."""
    owned = Q(created_by=user)
    if spec.owner_field and user.institutional_id:
        owned |= Q(**{spec.owner_field: user.institutional_id})
    return owned


def entries_for(spec: EntryKindSpec, user, action: Action = Action.VIEW_LAB, *, year: int | None = None) -> QuerySet:
    """The entries of one kind that `user` may read (VIEW_LAB) or change (EDIT_LAB)."""
    scope = unit_scope(user, action)
    owned = owned_by(spec, user) if spec.standard_editable else Q(pk__in=[])
    entries = spec.model.objects.filter(scope.rows_q(UNIT_PATH, owned))
    if year is not None:
        entries = entries.filter(module_report__report__year_id=year)
    return entries
