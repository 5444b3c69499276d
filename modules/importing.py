"""CSV import of entries, shared by the command line, the admin and the lab upload.

Per-year files (a `unit_institutional_id` column) replace the previous per-year-file rows of that
kind and year for all units; unit files (`--unit CF`) append. Every row is validated before anything
is written; with any error nothing is written unless the caller asked to skip invalid rows.
Writes go through COPY (entries, their history, their emissions) in one transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.utils import timezone

from carbon.models import CarbonReport, ModuleReport, YearConfiguration
from carbon.services import year_create_reports
from infra.bulk import allocate_ids, copy_history, copy_insert, delete_ids, history_from_ids
from infra.csvio import CellError, ColumnSpec, CsvFileError, RowError, RowWarning, read_csv
from infra.importing import BaseImporter, ImportOutcome, ImportRequest, register
from modules.base import EntrySource
from modules.engine import (
    CHUNK,
    dependants_recompute,
    emissions_delete,
    entries_recompute,
    module_reports_touched,
    stats_refresh,
)
from modules.registry import ComputeContext, EntryKindSpec, RowContext
from modules.rows import OVERRIDE_COLUMN, row_values, rows_check
from units.models import Unit

__all__ = ["EntryImporter", "register_entry_importer"]

UNIT_COLUMN = "unit_institutional_id"
# Above this size a file is validated in a first streaming pass and written in a second one.
STREAM_THRESHOLD_BYTES = int(os.environ.get("IMPORT_STREAM_THRESHOLD_BYTES", 20 * 1024 * 1024))
NO_DATA_ROWS = ("no data rows: nothing imported, the year's rows are unchanged "
                "(to clear this kind for the year on purpose, import the empty file with --allow-empty)")


@dataclass
class _Plan:
    """What validation learnt, for the write: the rows kept in memory (small files) or how to read again."""

    per_year: bool
    columns: list[ColumnSpec] = field(default_factory=list)
    parser: _RowParser | None = None
    two_pass: bool = False
    kept: list[tuple[int, Unit, dict]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # row numbers that parsed (ints: cheap for huge files)


class EntryImporter(BaseImporter):
    needs_year = True
    accepts_unit = True

    def __init__(self, spec: EntryKindSpec):
        self.spec = spec
        self.name = spec.name

    # --- validation ------------------------------------------------------------------------
    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> _Plan | None:
        spec = self.spec
        per_year = request.unit_cf is None
        config = YearConfiguration.objects.filter(year=request.year).first()
        if config is None or config.configuration_completed is None:
            outcome.errors.append(RowError(None, None, f"year {request.year} is not created yet "
                                                       f"(run create_year {request.year} first)"))
            return None
        unit_file_unit = None
        if not per_year:
            unit_file_unit = Unit.objects.filter(institutional_id=request.unit_cf).first()
            if unit_file_unit is None:
                outcome.errors.append(RowError(None, None, f"unknown unit '{request.unit_cf}'"))
                return None
        columns = list(spec.columns) + [ColumnSpec(OVERRIDE_COLUMN)]
        if per_year:
            columns.insert(0, ColumnSpec(UNIT_COLUMN, required=True))
        else:
            columns.append(ColumnSpec(UNIT_COLUMN))
        required = [c.name for c in columns if c.required]
        units = {u.institutional_id: u for u in Unit.objects.exclude(institutional_id=None)} if per_year else {}
        # Large files are read twice (validate, then write) so that memory stays bounded; small ones once.
        plan = _Plan(per_year=per_year, columns=columns, two_pass=_size_of(request.source) > STREAM_THRESHOLD_BYTES,
                     parser=_RowParser(self, per_year, required, units, unit_file_unit))
        ctx = RowContext(year=request.year, per_year=per_year)
        reader = read_csv(request.source, columns=columns)
        if not per_year and UNIT_COLUMN in reader.columns_present:
            raise CsvFileError([RowError(None, UNIT_COLUMN, "a unit file has no unit_institutional_id column "
                                                            "(import it as a per-year file, without --unit)")])
        for chunk in plan.parser.chunks(reader, ctx, outcome, request, size=CHUNK if plan.two_pass else None):
            plan.numbers.extend(n for n, _, _ in chunk)
            if not plan.two_pass:
                plan.kept.extend(chunk)
        outcome.warnings.extend(reader.warnings)
        outcome.warnings.extend(ctx.warnings)
        bad = {e.row for e in outcome.errors}
        would_write = request.skip_invalid or not bad
        if per_year and would_write and not request.allow_empty and all(n in bad for n in plan.numbers):
            outcome.errors.append(RowError(None, None, NO_DATA_ROWS))  # file-level: refused even when skipping
        return plan

    def preview(self, request: ImportRequest, plan: _Plan, outcome: ImportOutcome) -> None:
        bad = set(outcome.skipped_rows)
        outcome.created = sum(1 for n in plan.numbers if n not in bad)  # what a real run would create

    def write(self, request: ImportRequest, plan: _Plan, outcome: ImportOutcome) -> None:
        bad = set(outcome.skipped_rows)
        if plan.two_pass:
            _rewind(request.source)
            again = read_csv(request.source, columns=plan.columns)
            scratch = ImportOutcome(kind=self.name)  # the second reading finds nothing new to report
            chunks = plan.parser.chunks(again, RowContext(year=request.year, per_year=plan.per_year), scratch,
                                        request, size=CHUNK)
        else:
            chunks = (plan.kept[i:i + CHUNK] for i in range(0, len(plan.kept), CHUNK))
        self._write(request, ([p for p in chunk if p[0] not in bad] for chunk in chunks), outcome, plan.per_year)

    # --- writing ---------------------------------------------------------------------------
    def _write(self, request: ImportRequest, chunks, outcome: ImportOutcome, per_year: bool) -> None:
        spec, model, year, actor = self.spec, self.spec.model, request.year, request.actor
        reason = f"{spec.name} CSV import" + (" (per-year file)" if per_year else f" (unit {request.unit_cf})")
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
        module_reports: dict[int, int] = {}
        created = 0
        for chunk in chunks:
            if not chunk:
                continue
            missing = {unit for _, unit, _ in chunk if unit.pk not in module_reports}
            if missing:
                module_reports.update(_module_reports(year, spec, missing))
            batch = []
            for _, unit, values in chunk:
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
        # Kinds computed from this kind's emissions (facility sums) are recomputed; their statuses stay.
        recomputed: set[int] = set()
        dependants_recompute([spec.name], year=year, refresh_stats=False, touched=recomputed, actor=actor)
        if request.defer_followups:
            outcome.module_reports = sorted(touched | recomputed)
        else:
            stats_refresh(touched | recomputed)


class _RowParser:
    """Turns CSV rows into validated (row number, unit, values) chunks, recording problems on the outcome."""

    def __init__(self, importer: EntryImporter, per_year: bool, required: list[str], units: dict, unit_file_unit):
        self.importer, self.spec, self.per_year = importer, importer.spec, per_year
        self.required, self.units, self.unit_file_unit = required, units, unit_file_unit

    def chunks(self, reader, ctx: RowContext, outcome: ImportOutcome, request: ImportRequest, *, size: int | None):
        """Yield lists of parsed rows, each checked by the kind's whole-chunk rules (a chunk is the whole file
        when `size` is None). Rules that span chunks keep their state in `ctx.memo`."""
        chunk: list[tuple[int, Unit, dict]] = []
        for row in reader:
            outcome.rows_read += 1
            if request.progress and outcome.rows_read % 10000 == 0:
                request.progress(outcome.rows_read)
            parsed = self._parse(row, ctx, outcome)
            if parsed is not None:
                chunk.append(parsed)
            if size and len(chunk) >= size:
                yield self._validated(chunk, ctx, outcome)
                chunk = []
        if chunk:
            yield self._validated(chunk, ctx, outcome)

    def _parse(self, row, ctx: RowContext, outcome: ImportOutcome):
        spec = self.spec
        if row.error:
            outcome.errors.append(row.error)
            return None
        if spec.skip_row and (skip_reason := spec.skip_row(row.values)):
            outcome.warnings.append(RowWarning(row.number, None, f"row skipped: {skip_reason}"))
            return None
        empty = [name for name in self.required if not row.values.get(name)]
        if empty:
            outcome.errors.extend(RowError(row.number, n, "a value is required") for n in empty)
            return None
        ctx.row = row.number
        try:
            unit = self.units.get(row.values[UNIT_COLUMN]) if self.per_year else self.unit_file_unit
            if unit is None:
                raise CellError(f"unknown unit '{row.values[UNIT_COLUMN]}'", column=UNIT_COLUMN)
            values = row_values(spec, row.values, ctx)
        except CellError as exc:
            outcome.errors.append(RowError(row.number, exc.column, exc.reason))
            return None
        return row.number, unit, values

    def _validated(self, chunk, ctx: RowContext, outcome: ImportOutcome):
        outcome.errors.extend(rows_check(self.spec, chunk, ctx))
        return chunk


def _size_of(source) -> int:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    try:
        position = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(position)
        return size
    except (AttributeError, OSError, ValueError):
        return 0  # not seekable: a single reading


def _rewind(source) -> None:
    if hasattr(source, "seek"):
        source.seek(0)


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

