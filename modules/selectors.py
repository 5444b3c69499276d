"""Reads of entries, through the one scoping function — what the lab API and pages will list.

A principal sees every row of their lab; a standard user only their own rows (decision 16: they are the
row's traveller or its creator) and only of the kinds they may enter; the back office reads its scope.
"""

from __future__ import annotations

from django.db.models import F, Func, Q, QuerySet, TextField

from factors.folding import fold
from modules.registry import KINDS, EntryKindSpec
from units.scoping import Action, unit_scope

__all__ = ["UNIT_PATH", "entries_for", "headcount_people", "owned_by"]

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


def headcount_people(unit, year: int, *, q: str = "", only: str | None = None, limit: int = 20) -> list[dict]:
    """The unit's headcount members of a year (name, institutional id), for picking a traveller (decision 18:
    the headcount first; anyone else is accepted with a warning). `only` restricts to one institutional id."""
    member = KINDS.get("member")
    if member is None:
        return []
    people = member.model.objects.filter(module_report__report__unit=unit, module_report__report__year_id=year)
    if only is not None:
        people = people.filter(user_institutional_id=only)
    if q := q.strip():
        # Folded as locations are (case, accents, punctuation): "zoe arni" finds "Zoé Ärni".
        folded_name = Func(F("name"), function="location_fold", output_field=TextField())
        people = people.alias(folded_name=folded_name).filter(
            Q(folded_name__contains=fold(q)) | Q(user_institutional_id__startswith=q))
    return list(people.order_by("name", "user_institutional_id").values("name", "user_institutional_id")[:limit])
