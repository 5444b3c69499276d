"""A synthetic institution's campaign end to end (issue 13): 5,000 labs, eight modules, ENTRIES entries.

Built through the real paths: units (root → 4 schools → 200 institutes → LABS labs, `common.reset_campaign`), the
year, reference data (`load_locations`: airports and stations; building rooms, exchange rates), every factor kind
(the demo's factor files, the research facilities' pointed at labs of this tree), the year opened; then one
per-year file per entry kind of the registry (`load_order()`), generated from the demo's rows (same columns and
vocabulary, other units, amounts, people, dates), imported by `get_importer(kind).run(ImportRequest(…))`.

Timed, each step after `common.settle()` (VACUUM ANALYZE + CHECKPOINT), wall and CPU seconds (this process + its
PostgreSQL backend, `common.measured`), with its baseline measured in the same run just before it:

- **imports**, per kind: the import of the kind's per-year file / `common.csv_copy_baseline` of the same file
  (csv module + COPY into an ordinary table with the entry table's columns and indexes, committed). No warm-up
  pass: a second import of a per-year file would be a diff re-import, another workload.
- **recalculation** of the year (`modules.engine.recalculate`, every kind in load order, statistics included) /
  `UPDATE … SET kg_co2eq = kg_co2eq` of every emission row of the year and of every entry table: the cheapest
  statement that rewrites the same rows, a lower bound of any recalculation (it computes nothing).
- **results of every unit**: the lab results page's selector (`reporting.results.unit_results`) for every lab;
  the reporting page's (`reporting.report_page.report_page`, every row); each / one GROUP BY (unit, emission
  type) of the year's emission rows, fetched: the lower bound of any sum the pages show.
- **exports**: the results CSV of every unit (`reporting.exports`, the operator's filters) / `COPY (SELECT unit,
  Σ kg … GROUP BY unit) TO STDOUT`; the detailed ZIP (every entry) / `COPY (SELECT … FROM carbon_emission JOIN
  the unit) TO STDOUT`, each read and discarded.
- **query counts at that size**: the campaign view (year page), the progress page and the reporting page,
  requested by a signed-in back-office admin through Django's test client.

Before the results, a third of the labs' module reports are marked validated (setup, one UPDATE), so that the
validated-only figures are not empty. The last line is the JSON of `common.report`: entries per second of the
whole timed campaign against its baselines.
Usage: BENCH_DB=name python bench/institution.py [ENTRIES] [LABS]   (default 2,000,000 entries, 5,000 labs)
"""

from __future__ import annotations

import csv
import io
import random
import resource
import sys
import time
from pathlib import Path

if __package__:  # imported as bench.institution: the query-count tests build a smaller copy with it
    from bench import common
else:
    import common

YEAR = 2025
FIXTURES = common.ROOT / "fixtures"
DEMO = FIXTURES / "demo" / str(YEAR)
# Share of the entries (students apart: one row per lab) per kind: purchases and equipment dominate, as in a
# real campaign; facilities and process emissions are a few labs' business.
SHARES = {"member": 0.10, "plane": 0.15, "train": 0.10, "building_room": 0.05, "energy_combustion": 0.01,
          "equipment": 0.20, "additional_purchase": 0.02, "purchase": 0.30, "external_ai": 0.02,
          "external_cloud": 0.02, "process_emission": 0.01, "research_facility": 0.015, "animal_facility": 0.005}
AIRPORTS = ["GVA", "ZRH", "BSL", "CDG", "LHR", "FRA", "AMS", "MUC", "VIE", "BCN", "FCO", "LIS", "MAD", "CPH",
            "ARN", "HEL", "ATH", "WAW", "BER", "TLV", "JFK", "BOS", "ORD", "SFO", "YUL", "NRT", "HND", "ICN",
            "PVG", "SIN", "DEL", "GRU", "NBO", "ACC"]
FACILITY_DEMO_UNIT = "14021"  # the demo's facility unit (LMC): here a lab of the synthetic tree


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a demo CSV file (comment lines skipped)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        return list(reader.fieldnames or []), list(reader)


def _stations() -> list[tuple[str, str]]:
    _, rows = _rows(FIXTURES / "reference" / "stations.csv")
    return [(row["name"], row["country_code"]) for row in rows]


def counts(entries: int, labs: int, kinds: list[str]) -> dict[str, int]:
    """Rows per kind: one student row per lab, the rest split by SHARES (kinds without a share get none)."""
    shared = [k for k in kinds if k in SHARES]
    rest = max(entries - (labs if "student" in kinds else 0), 0)
    total = sum(SHARES[k] for k in shared)
    out = {k: int(rest * SHARES[k] / total) for k in shared}
    if shared:
        out[max(shared, key=lambda k: SHARES[k])] += rest - sum(out.values())
    if "student" in kinds:
        out["student"] = labs
    return out


class Generator:
    """Per-year files of every kind for `labs`, from the demo's rows: the same columns and vocabulary, other
    units (a few big labs, many small ones), amounts, people and dates. Deterministic for a seed."""

    def __init__(self, labs: list[str], entries: int, kinds: list[str], seed: int = 13):
        self.labs = labs
        self.rng = random.Random(seed)
        self.weights = [self.rng.lognormvariate(0, 1) for _ in labs]  # lab sizes: skewed, like a real one
        self.counts = counts(entries, len(labs), kinds)
        self.facility_lab = labs[0]
        self.stations = _stations()
        self.members: dict[str, list[str]] = {}  # lab → its members' SCIPERs (the travellers)
        self.serial = 0

    def _lab_of_rows(self, n: int) -> list[str]:
        return self.rng.choices(self.labs, weights=self.weights, k=n)

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _amount(self, text: str, low: float = 0.2, high: float = 3.0) -> str:
        try:
            value = float(text)
        except ValueError:
            return text
        return f"{value * self.rng.uniform(low, high):.2f}"

    def _date(self) -> str:
        return f"{YEAR}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def _traveller(self, lab: str) -> str:
        people = self.members.get(lab)
        return self.rng.choice(people) if people else str(900000 + self.rng.randrange(50000))

    def file(self, kind: str) -> bytes | None:
        """The per-year file of `kind` (None: the demo has no rows of it to start from)."""
        path = DEMO / f"{kind}.csv"
        if not path.is_file() or not self.counts.get(kind):
            return None
        header, templates = _rows(path)
        out = io.StringIO()
        writer = csv.DictWriter(out, header, lineterminator="\n")
        writer.writeheader()
        mutate = getattr(self, f"_{kind}", None)
        labs = self.labs if kind == "student" else self._lab_of_rows(self.counts[kind])
        rng = self.rng
        for lab in labs:
            row = dict(rng.choice(templates))
            row["unit_institutional_id"] = lab
            if "note" in row:
                row["note"] = row["note"] if rng.random() < 0.2 else ""
            if mutate:
                mutate(row, lab)
            writer.writerow(row)
        return out.getvalue().encode()

    # --- per kind: what varies from one row to the next ------------------------------------------------------
    def _member(self, row: dict, lab: str) -> None:
        n = self._next()
        sciper = str(100000 + n)
        self.members.setdefault(lab, []).append(sciper)
        row.update(name=f"Person {n}", user_institutional_id=sciper,
                   fte=self.rng.choice(["1.0", "1.0", "1.0", "0.8", "0.6", "0.5"]))

    def _student(self, row: dict, lab: str) -> None:
        row["fte"] = f"{self.rng.uniform(0.5, 12):.1f}"

    def _plane(self, row: dict, lab: str) -> None:
        rng = self.rng
        origin, destination = (row["origin_iata"], row["destination_iata"]) if rng.random() < 0.5 else \
            rng.sample(AIRPORTS, 2)
        if rng.random() < 0.5:
            origin, destination = destination, origin
        row.update(origin_iata=origin, destination_iata=destination, user_institutional_id=self._traveller(lab),
                   departure_date=self._date(), number_of_trips=str(rng.choice([1, 2, 2, 2])),
                   cabin_class=rng.choice(["economy"] * 8 + ["business", "first"]))

    def _train(self, row: dict, lab: str) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            (o, oc), (d, dc) = rng.sample(self.stations, 2)
            row.update(origin_name=o, origin_country_code=oc, destination_name=d, destination_country_code=dc)
        row.update(user_institutional_id=self._traveller(lab), departure_date=self._date(),
                   number_of_trips=str(rng.choice([1, 2, 2])), cabin_class=rng.choice(["second"] * 4 + ["first"]))

    def _building_room(self, row: dict, lab: str) -> None:
        row["room_allocation_ratio"] = f"{self.rng.uniform(0.05, 1):.2f}"

    def _energy_combustion(self, row: dict, lab: str) -> None:
        row["quantity"] = self._amount(row["quantity"])

    def _equipment(self, row: dict, lab: str) -> None:
        row["equipment_id"] = f"B{self._next():08d}"

    def _additional_purchase(self, row: dict, lab: str) -> None:
        row["annual_consumption"] = self._amount(row["annual_consumption"])

    def _purchase(self, row: dict, lab: str) -> None:
        row["quantity"] = str(self.rng.randint(1, 20))
        row["total_spent_amount"] = self._amount(row["total_spent_amount"], 0.05, 5)

    def _external_ai(self, row: dict, lab: str) -> None:
        row["fte_count"] = str(self.rng.randint(1, 12))

    def _external_cloud(self, row: dict, lab: str) -> None:
        row["spent_amount"] = self._amount(row["spent_amount"])

    def _process_emission(self, row: dict, lab: str) -> None:
        row["quantity"] = self._amount(row["quantity"])

    def _research_facility(self, row: dict, lab: str) -> None:
        if row["researchfacility_id"] == FACILITY_DEMO_UNIT:
            row["researchfacility_id"] = self.facility_lab
        row["use"] = self._amount(row["use"], 0.1, 2)

    def _animal_facility(self, row: dict, lab: str) -> None:
        row["use"] = self._amount(row["use"], 0.1, 2)

    def factor_file(self, kind: str) -> bytes:
        """The demo's factor file of `kind`; the research facility computed from a unit's own results points at
        a lab of this tree (its sum is left empty: the facility kinds then depend on that lab's results)."""
        data = (DEMO / f"factors_{kind}.csv").read_bytes()
        if kind == "research_facility":
            data = data.replace(f"\n{FACILITY_DEMO_UNIT},".encode(), f"\n{self.facility_lab},".encode())
        return data


def run_import(kind: str, data, year: int | None = YEAR):
    """Import one file through the importer registry; raises on any error."""
    from infra.importing import ImportRequest, get_importer

    outcome = get_importer(kind).run(ImportRequest(source=data, year=year))
    if outcome.errors:
        raise SystemExit(f"{kind}: {outcome.errors[:5]}")
    return outcome


def load_year(generator: Generator, *, all_airports: bool = True) -> None:
    """Reference data, every factor kind of the year, then the year opened (what an operator does first).
    `all_airports=False` loads only the generator's airports (the tests: seconds instead of the whole list)."""
    from django.core.management import call_command

    from carbon.services import year_open
    from factors.base import FACTOR_KINDS

    if all_airports:
        call_command("load_locations", verbosity=0, stdout=io.StringIO())
    else:
        from factors.importers import LOCATIONS, PreparedRows
        from factors.management.commands.load_locations import airport_rows
        from infra.importing import ImportRequest

        rows = [row for row in airport_rows() if row.values["iata_code"] in AIRPORTS]
        LOCATIONS.run(ImportRequest(source=PreparedRows(rows, "bench/institution airports")))
        run_import("locations", (FIXTURES / "reference" / "stations.csv").read_bytes(), year=None)
    for name in ("building_rooms", "exchange_rates"):
        run_import(name, (FIXTURES / "reference" / f"{name}.csv").read_bytes(), year=None)
    for kind in FACTOR_KINDS:
        run_import(f"factors:{kind}", generator.factor_file(kind))
    year_open(year=YEAR)


def module_reports_of(kind: str) -> dict[str, int]:
    """unit cf → module report id of the kind's module (what the import baseline writes for the unit column)."""
    from carbon.models import ModuleReport
    from modules.registry import KINDS

    return dict(ModuleReport.objects.filter(report__year_id=YEAR, module=KINDS[kind].module.value)
                .values_list("report__unit__institutional_id", "pk"))


def validate_some(fraction: float = 1 / 3, seed: int = 5) -> int:
    """Mark a share of the labs' module reports validated (setup: the results pages show validated data)."""
    from carbon.models import ModuleReport, ModuleStatus

    ids = sorted(ModuleReport.objects.filter(report__year_id=YEAR, report__unit__level=4).values_list("pk", flat=True))
    chosen = random.Random(seed).sample(ids, int(len(ids) * fraction))
    return ModuleReport.objects.filter(pk__in=chosen).update(status=ModuleStatus.VALIDATED)


# --- the timed steps and their baselines ------------------------------------------------------------------------
RECALC_SECONDS: dict[str, float] = {}  # kind → wall seconds of its share of the last recalculation


def recalculate_all() -> int:
    from modules.engine import recalculate
    from modules.registry import load_order

    done = 0
    for spec in load_order():
        started = time.perf_counter()
        done += recalculate(spec, year=YEAR)
        RECALC_SECONDS[spec.name] = time.perf_counter() - started
    return done


def rewrite_baseline() -> int:
    """The lower bound of any recalculation: every emission row of the year and every entry total rewritten with
    its own value (no computation, no statistics), committed."""
    from django.db import connection, transaction

    from modules.registry import KINDS

    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE carbon_emission SET kg_co2eq = kg_co2eq, computed_at = now() WHERE year = %s", [YEAR])
        rows += cursor.rowcount
        for table in sorted({spec.model._meta.db_table for spec in KINDS.values()}):
            cursor.execute(f"UPDATE {table} e SET kg_co2eq = e.kg_co2eq FROM carbon_modulereport m "  # noqa: S608
                           "JOIN carbon_carbonreport r ON r.id = m.report_id "
                           "WHERE m.id = e.module_report_id AND r.year_id = %s", [YEAR])
            rows += cursor.rowcount
    return rows


def lab_results_every_lab() -> int:
    """The lab results page's numbers (`unit_results`) for every lab."""
    from reporting.results import unit_results
    from units.models import Unit

    labs = 0
    for unit in Unit.objects.filter(level=4).order_by("pk").iterator(chunk_size=2000):
        unit_results(unit, YEAR)
        labs += 1
    return labs


def reporting_every_row() -> int:
    """The reporting page's rows and aggregate for every unit (operator's filters, one page of everything)."""
    from reporting.exports import ReportFilters
    from reporting.report_page import Paging, report_page

    return len(report_page(ReportFilters.from_query({"year": str(YEAR)}, None), Paging(per_page="all")).rows)


def sums_baseline() -> int:
    """One GROUP BY (unit, emission type) of the year's emission rows, fetched."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT unit_id, emission_type, sum(kg_co2eq) FROM carbon_emission WHERE year = %s "
                       "GROUP BY unit_id, emission_type", [YEAR])
        return len(cursor.fetchall())


def export(name: str, fmt: str) -> int:
    """Bytes of an export of every unit (operator's filters), its chunks read and thrown away."""
    from reporting.exports import ReportFilters, build_export

    size = 0
    for chunk in build_export(name, fmt, ReportFilters.from_query({"year": str(YEAR)}, None)).chunks:
        size += len(chunk)
    return size


COPY_RESULTS = """COPY (SELECT u.institutional_id, u.path_name, sum(e.kg_co2eq) FROM carbon_emission e
                       JOIN units_unit u ON u.id = e.unit_id WHERE e.year = {year}
                       GROUP BY u.institutional_id, u.path_name ORDER BY u.path_name) TO STDOUT WITH CSV HEADER"""
COPY_DETAILED = """COPY (SELECT u.institutional_id, u.name, u.path_name, e.year, e.kind, e.entry_id, e.emission_type,
                                e.kg_co2eq, e.quantity, e.quantity_unit FROM carbon_emission e
                         JOIN units_unit u ON u.id = e.unit_id WHERE e.year = {year}) TO STDOUT WITH CSV HEADER"""


def copy_out(sql: str) -> int:
    from django.db import connection

    size = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql.format(year=YEAR)) as copy:
        for block in copy:
            size += len(block)
    return size


def page_queries(client, url: str) -> tuple[int, float]:
    """(queries, seconds) of one GET of a back-office page, which must answer 200."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            for _chunk in response.streaming_content:
                pass
    return len(queries.captured_queries), time.perf_counter() - started


# --- the run --------------------------------------------------------------------------------------------------
class Steps:
    """Timed steps and their baselines: name → [wall, CPU] summed, printed as they come."""

    def __init__(self):
        self.rows: list[tuple[str, float, float, float, float, str]] = []

    def pair(self, name: str, baseline, work, note: str = ""):
        common.settle()
        bw, bc, _ = common.measured(*baseline)
        common.settle()
        ww, wc, result = common.measured(*work)
        self.rows.append((name, ww, wc, bw, bc, note))
        print(f"{name}: {ww:.1f} s wall / {wc:.1f} s CPU; baseline {bw:.2f} s / {bc:.2f} s; "
              f"ratio {bw / ww:.3f} (CPU {bc / wc:.3f}) {note}", flush=True)
        return result


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    lab_count = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    started = time.perf_counter()
    common.setup_django()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from carbon.models import Emission
    from modules.registry import KINDS, load_order
    from tests.factories import user_with_roles
    from units.models import User

    labs = common.reset_campaign(labs=lab_count, institutes=max(lab_count // 25, 20))
    generator = Generator(labs, entries, [spec.name for spec in load_order()])
    load_year(generator)
    print(f"setup: {lab_count:,} labs, reference data, factors, year open in {time.perf_counter() - started:.1f} s; "
          f"rows per kind {generator.counts}", flush=True)
    steps = Steps()
    imported = 0
    for spec in load_order():
        data = generator.file(spec.name)
        if data is None:
            print(f"{spec.name}: no demo rows to start from, skipped")
            continue
        outcome = steps.pair(f"import {spec.name}", (common.csv_copy_baseline, spec.model, data,
                                                      module_reports_of(spec.name)),
                             (run_import, spec.name, data), f"({len(data) / 1e6:.1f} MB)")
        imported += outcome.created
        if outcome.warnings:
            print(f"  {len(outcome.warnings)} warnings, e.g. {outcome.warnings[:2]}")
    emission_rows = Emission.objects.filter(year=YEAR).count()
    print(f"imported {imported:,} entries, {emission_rows:,} emission rows", flush=True)
    validated = validate_some()
    print(f"setup: {validated:,} module reports marked validated", flush=True)
    steps.pair("recalculation", (rewrite_baseline,), (recalculate_all,))
    print("  per kind (wall s): " + ", ".join(f"{k} {s:.1f}" for k, s in RECALC_SECONDS.items()), flush=True)
    steps.pair("lab results of every lab", (sums_baseline,), (lab_results_every_lab,))
    steps.pair("reporting page, every unit", (sums_baseline,), (reporting_every_row,))
    steps.pair("results export (CSV)", (copy_out, COPY_RESULTS), (export, "results", "csv"))
    steps.pair("detailed export (ZIP)", (copy_out, COPY_DETAILED), (export, "detailed", "zip"))

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.filter(institutional_id="bench-admin").first()  # users outlive reset_campaign
                       or user_with_roles("calco2.backoffice.admin@global", institutional_id="bench-admin"))
    pages = {"campaign view (year page)": reverse("admin:carbon_yearconfiguration_change", args=[YEAR]),
             "progress page": f"{reverse('reporting-progress')}?year={YEAR}",
             "reporting page": f"{reverse('reporting-report')}?year={YEAR}"}
    queries = {}
    for name, url in pages.items():
        count, seconds = page_queries(client, url)
        queries[name] = count
        print(f"{name}: {count} queries, {seconds:.1f} s", flush=True)

    print(f"\n{'step':<32} {'wall s':>8} {'CPU s':>8} {'base wall':>10} {'base CPU':>9} {'ratio':>6} {'CPU r':>6}")
    for name, ww, wc, bw, bc, _note in steps.rows:
        print(f"{name:<32} {ww:8.1f} {wc:8.1f} {bw:10.2f} {bc:9.2f} {bw / ww:6.3f} {bc / wc:6.3f}")
    totals = [sum(row[i] for row in steps.rows) for i in (1, 2, 3, 4)]
    imports = [sum(row[i] for row in steps.rows if row[0].startswith("import")) for i in (1, 2, 3, 4)]
    print(f"{'imports':<32} {imports[0]:8.1f} {imports[1]:8.1f} {imports[2]:10.2f} {imports[3]:9.2f} "
          f"{imports[2] / imports[0]:6.3f} {imports[3] / imports[1]:6.3f}")
    print(f"{'campaign (every step)':<32} {totals[0]:8.1f} {totals[1]:8.1f} {totals[2]:10.2f} {totals[3]:9.2f} "
          f"{totals[2] / totals[0]:6.3f} {totals[3] / totals[1]:6.3f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"run {time.perf_counter() - started:.0f} s", flush=True)
    common.report("institution_campaign_entries_per_second", imported / totals[0], "entries/s",
                  imported / totals[2], entries=imported, labs=lab_count, emission_rows=emission_rows,
                  kinds=len(KINDS), import_ratio=round(imports[2] / imports[0], 4),
                  cpu_ratio=round(totals[3] / totals[1], 4), steps={row[0]: round(row[3] / row[1], 4)
                                                                    for row in steps.rows},
                  queries=queries)


if __name__ == "__main__":
    main()
