"""CSV import of entries, shared by the command line, the admin and the lab upload.

Per-year files (a `unit_institutional_id` column) replace the previous per-year-file rows of that
kind and year for all units; unit files (`--unit CF`) append. Every row is validated before anything
is written; with any error nothing is written unless the caller asked to skip invalid rows.
Writes go through COPY (entries, their history, their emissions) in one transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from carbon.bulk import allocate_ids, copy_history, copy_insert, delete_ids, history_from_ids
from carbon.csvio import CellError, ColumnSpec, CsvFileError, RowError, RowWarning, parse_decimal, read_csv
from carbon.importing import ImportOutcome, ImportRequest, register
from carbon.models import CarbonReport, ModuleReport, YearConfiguration
from carbon.services import year_create_reports
from modules.base import EntrySource
from modules.engine import CHUNK, emissions_delete, entries_recompute, module_reports_touched, stats_refresh
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SkipRow
from units.models import Unit

__all__ = ["EntryImporter", "register_entry_importer"]

UNIT_COLUMN = "unit_institutional_id"
OVERRIDE_COLUMN = "kg_co2eq"


class EntryImporter:
    needs_year = True
    accepts_unit = True

    def __init__(self, spec: EntryKindSpec):
        self.spec = spec
        self.name = spec.name

    # --- validation ------------------------------------------------------------------------
    def run(self, request: ImportRequest) -> ImportOutcome:
        spec = self.spec
        outcome = ImportOutcome(kind=self.name, dry_run=request.dry_run)
        per_year = request.unit_cf is None
        config = YearConfiguration.objects.filter(year=request.year).first()
        if config is None or config.configuration_completed is None:
            outcome.errors.append(RowError(None, None, f"year {request.year} is not created yet "
                                                       f"(run create_year {request.year} first)"))
            return outcome
        unit_file_unit = None
        if not per_year:
            unit_file_unit = Unit.objects.filter(institutional_id=request.unit_cf).first()
            if unit_file_unit is None:
                outcome.errors.append(RowError(None, None, f"unknown unit '{request.unit_cf}'"))
                return outcome
        columns = list(spec.columns) + [ColumnSpec(OVERRIDE_COLUMN)]
        if per_year:
            columns.insert(0, ColumnSpec(UNIT_COLUMN, required=True))
        else:
            columns.append(ColumnSpec(UNIT_COLUMN))
        required = [c.name for c in columns if c.required]
        ctx = RowContext(year=request.year, per_year=per_year)
        units = {u.institutional_id: u for u in Unit.objects.exclude(institutional_id=None)} if per_year else {}
        parsed: list[tuple[int, Unit, dict]] = []
        try:
            reader = read_csv(request.source, columns=columns)
            if not per_year and UNIT_COLUMN in reader.columns_present:
                raise CsvFileError([RowError(None, UNIT_COLUMN, "a unit file has no unit_institutional_id column "
                                                                "(import it as a per-year file, without --unit)")])
            for row in reader:
                outcome.rows_read += 1
                if request.progress and outcome.rows_read % 10000 == 0:
                    request.progress(outcome.rows_read)
                if row.error:
                    outcome.errors.append(row.error)
                    continue
                if spec.skip_row and (skip_reason := spec.skip_row(row.values)):
                    outcome.warnings.append(RowWarning(row.number, None, f"row skipped: {skip_reason}"))
                    continue
                empty = [name for name in required if not row.values.get(name)]
                if empty:
                    outcome.errors.extend(RowError(row.number, n, "a value is required") for n in empty)
                    continue
                ctx.row = row.number
                try:
                    unit = units.get(row.values[UNIT_COLUMN]) if per_year else unit_file_unit
                    if unit is None:
                        raise CellError(f"unknown unit '{row.values[UNIT_COLUMN]}'", column=UNIT_COLUMN)
                    values = spec.parse_row(row.values, ctx)
                    values.setdefault("note", row.values.get("note", ""))
                    values["kg_co2eq_override"] = self._override(row.values.get(OVERRIDE_COLUMN, ""))
                except CellError as exc:
                    outcome.errors.append(RowError(row.number, exc.column, exc.reason))
                    continue
                except SkipRow as skip:
                    outcome.warnings.append(RowWarning(row.number, None, f"row skipped: {skip.reason}"))
                    continue
                parsed.append((row.number, unit, values))
            outcome.warnings.extend(reader.warnings)
        except CsvFileError as exc:
            outcome.errors.extend(exc.errors)
            return outcome
        if spec.validate_rows:
            # The very dicts that will build the entries, with the row's unit under "unit" for the
            # duration of the call: whole-file checks and lookups may fill values in place.
            for _, unit, values in parsed:
                values["unit"] = unit
            try:
                outcome.errors.extend(spec.validate_rows([(n, v) for n, _, v in parsed], ctx))
            finally:
                for _, _, values in parsed:
                    values.pop("unit", None)
        outcome.warnings.extend(ctx.warnings)
        if outcome.errors and not request.skip_invalid:
            return outcome
        bad = {e.row for e in outcome.errors}
        outcome.skipped_rows = sorted(bad - {None})
        parsed = [p for p in parsed if p[0] not in bad]
        if request.dry_run:
            outcome.created = len(parsed)  # what a real run would create
            return outcome
        with transaction.atomic():
            self._write(request, parsed, outcome, per_year)
        return outcome

    def _override(self, text: str):
        if not text:
            return None
        if self.spec.override_leaf is None:
            raise CellError("override not supported for this kind", column=OVERRIDE_COLUMN)
        try:
            return parse_decimal(text, min=0)
        except CellError as exc:
            raise CellError(exc.reason, column=OVERRIDE_COLUMN) from None

    # --- writing ---------------------------------------------------------------------------
    def _write(self, request: ImportRequest, parsed, outcome: ImportOutcome, per_year: bool) -> None:
        spec, model, year, actor = self.spec, self.spec.model, request.year, request.actor
        reason = f"{spec.name} CSV import" + (" (per-year file)" if per_year else f" (unit {request.unit_cf})")
        module_reports = _module_reports(year, spec, {unit for _, unit, _ in parsed})
        touched: set[int] = set()
        if per_year:
            old = model.objects.filter(module_report__report__year_id=year, source=EntrySource.CSV_MODULE_PER_YEAR)
            old_ids = list(old.values_list("pk", flat=True))
            touched.update(old.values_list("module_report_id", flat=True).distinct())
            history_from_ids(model, old_ids, history_type="-", user=actor, reason=reason)
            for start in range(0, len(old_ids), CHUNK):
                ids = old_ids[start:start + CHUNK]
                emissions_delete(spec, ids)
                delete_ids(model, ids)
            outcome.deleted = len(old_ids)
        source = EntrySource.CSV_MODULE_PER_YEAR if per_year else EntrySource.CSV_MODULE_UNIT_SPECIFIC
        now = timezone.now()
        ctx = ComputeContext(year=year)
        created = 0
        for start in range(0, len(parsed), CHUNK):
            batch = []
            for _, unit, values in parsed[start:start + CHUNK]:
                module_report_id = module_reports[unit.pk]
                batch.append(model(module_report_id=module_report_id, source=source, created_by=actor,
                                   created_at=now, updated_at=now, **values))
                touched.add(module_report_id)
            for entry, pk in zip(batch, allocate_ids(model, len(batch)), strict=True):
                entry.pk = pk
            # Emissions first: the totals then go into the entries' own COPY (no UPDATE afterwards).
            entries_recompute(spec, batch, ctx, fresh=True)
            copy_insert(model, batch, assign_ids=False)
            copy_history(model, batch, history_type="+", user=actor, reason=reason, when=now)
            created += len(batch)
            if request.progress:
                request.progress(created)
        outcome.created = created
        module_reports_touched(touched, actor=actor, reason=reason)
        if request.defer_followups:
            outcome.module_reports = sorted(touched)
        else:
            stats_refresh(touched)


def _module_reports(year: int, spec: EntryKindSpec, units: set[Unit]) -> dict[int, int]:
    """unit id → module report id for this kind's module, creating missing reports (inactive units)."""
    unit_ids = {u.pk for u in units}
    missing = unit_ids - set(CarbonReport.objects.filter(year_id=year, unit_id__in=unit_ids)
                             .values_list("unit_id", flat=True))
    if missing:
        year_create_reports(year=year, unit_ids=missing)
    return dict(ModuleReport.objects.filter(report__year_id=year, report__unit_id__in=unit_ids,
                                            module=spec.module.value).values_list("report__unit_id", "pk"))


def register_entry_importer(spec: EntryKindSpec) -> None:
    register(EntryImporter(spec))


def decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(value)
