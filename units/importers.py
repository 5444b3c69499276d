"""CSV import kinds `units` and `users` (csv-formats.md, reference data)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from infra.csvio import CellError, ColumnSpec, RowError, parse_bool, parse_int, read_csv
from infra.history import bulk_create_with_history, bulk_update_with_history
from infra.importing import BaseImporter, ImportOutcome, ImportRequest, collect_rows, register
from units.models import Provider, Unit, User
from units.roles import RoleSpecError, parse_role, parse_scope
from units.services import unit_paths_recompute, user_role_grant

UNIT_COLUMNS = [
    ColumnSpec("institutional_code", required=True),
    ColumnSpec("institutional_id"),
    ColumnSpec("name", required=True),
    ColumnSpec("label_en"),
    ColumnSpec("label_fr"),
    ColumnSpec("level", required=True),
    ColumnSpec("parent_institutional_code"),
    ColumnSpec("unit_type_label"),
    ColumnSpec("principal_user_institutional_id"),
    ColumnSpec("is_active"),
]
UNIT_FIELDS = ["institutional_id", "name", "label_en", "label_fr", "level", "unit_type_label",
               "principal_user_institutional_id", "is_active"]


@dataclass
class UnitRow:
    number: int
    code: str
    cf: str | None
    name: str
    label_en: str
    label_fr: str
    level: int
    parent_code: str | None
    unit_type_label: str
    principal: str
    is_active: bool


class UnitsImporter(BaseImporter):
    """Creates and updates units in place (by institutional_code); never deletes."""

    name = "units"
    needs_year = False
    accepts_unit = False

    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> list[UnitRow]:
        rows = collect_rows(read_csv(request.source, columns=UNIT_COLUMNS), outcome, self._parse, UNIT_COLUMNS)
        self._check_tree(rows, outcome)
        bad = {e.row for e in outcome.errors}
        return [r for r in rows if r.number not in bad]

    def write(self, request: ImportRequest, plan: list[UnitRow], outcome: ImportOutcome) -> None:
        if plan:
            self._write(plan, outcome, request.actor)

    @staticmethod
    def _parse(row) -> UnitRow:
        v = row.values
        level = parse_int(v.get("level", ""), column="level", min=1, max=4)
        parent = v.get("parent_institutional_code") or None
        if level == 1 and parent:
            raise CellError("a level-1 unit has no parent", column="parent_institutional_code")
        if level > 1 and not parent:
            raise CellError(f"a level-{level} unit needs a parent", column="parent_institutional_code")
        cf = v.get("institutional_id") or None
        is_active = parse_bool(v.get("is_active", ""), column="is_active")
        return UnitRow(
            number=row.number, code=v["institutional_code"], cf=None if cf in (None, "0") else cf,
            name=v["name"], label_en=v.get("label_en", ""), label_fr=v.get("label_fr", ""), level=level,
            parent_code=parent, unit_type_label=v.get("unit_type_label", ""),
            principal=v.get("principal_user_institutional_id", ""),
            is_active=True if is_active is None else is_active,
        )

    @staticmethod
    def _check_tree(rows: list[UnitRow], outcome: ImportOutcome) -> None:
        """Orphan parents, level jumps, cycles and duplicate codes/cfs, against file ∪ database."""
        existing = {u.institutional_code: u for u in Unit.objects.select_related("parent")}
        levels = {code: u.level for code, u in existing.items()}
        parents = {code: (u.parent.institutional_code if u.parent else None) for code, u in existing.items()}
        cf_owner = {u.institutional_id: code for code, u in existing.items() if u.institutional_id}
        seen_codes: dict[str, int] = {}
        seen_cfs: dict[str, int] = {}
        for row in rows:
            if row.code in seen_codes:
                outcome.errors.append(RowError(row.number, "institutional_code",
                                               f"duplicate code {row.code} (also on row {seen_codes[row.code]})"))
            seen_codes[row.code] = row.number
            if row.cf:
                if row.cf in seen_cfs:
                    outcome.errors.append(RowError(row.number, "institutional_id",
                                                   f"duplicate cf {row.cf} (also on row {seen_cfs[row.cf]})"))
                elif cf_owner.get(row.cf, row.code) != row.code:
                    outcome.errors.append(RowError(row.number, "institutional_id",
                                                   f"cf {row.cf} belongs to unit {cf_owner[row.cf]}"))
                seen_cfs[row.cf] = row.number
            levels[row.code], parents[row.code] = row.level, row.parent_code
        for row in rows:
            if row.parent_code is None:
                continue
            if row.parent_code not in levels:
                outcome.errors.append(RowError(row.number, "parent_institutional_code",
                                               f"unknown parent {row.parent_code} (not in the file nor the database)"))
            elif levels[row.parent_code] != row.level - 1:
                outcome.errors.append(RowError(
                    row.number, "level",
                    f"level {row.level} under a level-{levels[row.parent_code]} parent (levels go one step at a time)"))
            else:
                seen, code = {row.code}, row.parent_code
                while code is not None:
                    if code in seen:
                        outcome.errors.append(RowError(row.number, "parent_institutional_code",
                                                       f"cycle: {row.code} would be its own ancestor"))
                        break
                    seen.add(code)
                    code = parents.get(code)

    @staticmethod
    @transaction.atomic
    def _write(rows: list[UnitRow], outcome: ImportOutcome, actor) -> None:
        reason = "units CSV import"
        existing = {u.institutional_code: u for u in Unit.objects.select_for_update()}
        new_units, changed = [], []
        parents_by_code = {row.code: row.parent_code for row in rows}
        for row in rows:
            values = {"institutional_id": row.cf, "name": row.name, "label_en": row.label_en,
                      "label_fr": row.label_fr, "level": row.level, "unit_type_label": row.unit_type_label,
                      "principal_user_institutional_id": row.principal, "is_active": row.is_active}
            unit = existing.get(row.code)
            if unit is None:
                unit = Unit(institutional_code=row.code, path_institutional_code=row.code, path_name=row.name,
                            **values)
                new_units.append(unit)
                existing[row.code] = unit
            elif any(getattr(unit, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(unit, k, v)
                changed.append(unit)
            else:
                outcome.unchanged += 1
        # Created level by level so that every parent has its primary key before its children.
        for level in range(1, 5):
            batch = [u for u in new_units if u.level == level]
            for unit in batch:
                parent_code = parents_by_code[unit.institutional_code]
                unit.parent = existing[parent_code] if parent_code else None
            bulk_create_with_history(batch, Unit, default_user=actor, default_change_reason=reason)
        parent_changed = []
        for row in rows:
            unit = existing[row.code]
            parent = existing[row.parent_code] if row.parent_code else None
            if unit.parent_id != (parent.pk if parent else None):
                unit.parent = parent
                parent_changed.append(unit)
        to_update = {u.pk: u for u in changed + parent_changed}.values()
        if to_update:
            bulk_update_with_history(list(to_update), Unit, UNIT_FIELDS + ["parent"], default_user=actor,
                                     default_change_reason=reason)
        outcome.created, outcome.updated = len(new_units), len(changed)
        unit_paths_recompute(actor=actor, reason=reason)


USER_COLUMNS = [
    ColumnSpec("institutional_id", required=True),
    ColumnSpec("email", required=True),
    ColumnSpec("display_name"),
    ColumnSpec("role", required=True),
    ColumnSpec("scope", required=True),
    ColumnSpec("provider"),
]


class UsersImporter(BaseImporter):
    """One row per role assignment; adds or updates users and grants, never removes."""

    name = "users"
    needs_year = False
    accepts_unit = False

    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> list[tuple]:
        known_cfs = set(Unit.objects.exclude(institutional_id=None).values_list("institutional_id", flat=True))

        def parse(row):
            v = row.values
            try:
                role = parse_role(v["role"])
            except RoleSpecError as exc:
                raise CellError(str(exc), column="role") from None
            try:
                spec = parse_scope(role, v["scope"])
            except RoleSpecError as exc:
                raise CellError(str(exc), column="scope") from None
            if spec.cf and spec.cf not in known_cfs:
                raise CellError(f"unknown unit cf '{spec.cf}'", column="scope")
            provider = (v.get("provider") or Provider.OIDC).lower()
            if provider not in Provider.values:
                raise CellError(f"unknown provider '{provider}' (expected {', '.join(Provider.values)})",
                                column="provider")
            if "@" not in v["email"]:
                raise CellError("not an email address", column="email")
            return row.number, v["institutional_id"], provider, v["email"], v.get("display_name", ""), spec

        return collect_rows(read_csv(request.source, columns=USER_COLUMNS), outcome, parse, USER_COLUMNS)

    def write(self, request: ImportRequest, plan: list[tuple], outcome: ImportOutcome) -> None:
        for _number, iid, provider, email, display_name, spec in plan:
            user, created = User.objects.get_or_create(
                institutional_id=iid, provider=provider, defaults={"email": email, "display_name": display_name})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                outcome.created += 1
            elif (user.email, user.display_name) != (email, display_name or user.display_name):
                user.email, user.display_name = email, display_name or user.display_name
                user.save(update_fields=["email", "display_name"])
                outcome.updated += 1
            if not user_role_grant(user=user, spec=spec) and not created:
                outcome.unchanged += 1


register(UnitsImporter())
register(UsersImporter())
