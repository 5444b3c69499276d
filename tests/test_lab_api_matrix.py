"""Generated permission matrix of the lab API: every route under `api/v1/units/<cf>/years/` × its methods ×
role × target lab × row situation.

Discovered, not listed: the routes come from the URL conf (`get_resolver()`), their methods from the views
(`actions` of a viewset, implemented handlers of an APIView), the entry kinds from the registry (`KINDS`), the
row situations from each kind's spec (owner field, standard-editable, one row per module). A new kind or a
new lab route is covered the day it appears — or, for a route whose rules are not written here, fails
`test_every_lab_route_has_its_rules`.

Expectations come from product.md §2/§6 and decision 16, written here as a small table (`lab_access`,
`readable`, `editable`), not from the access code under test. Each request is checked three ways:
- its status;
- the database: a refused write (and every read) leaves it untouched (PostgreSQL's per-transaction
  write counters, plus the kind's rows and the module reports compared value by value); an allowed
  write changes exactly its row;
- its body: no foreign row's id, traveller, creator or note marker appears anywhere (list, detail, error,
  report, results); a row outside the caller's reach answers exactly like a row that does not exist.

Every request runs in a savepoint rolled back afterwards, so the attempts of one test are independent.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import UniqueConstraint
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from carbon.models import ModuleReport, ModuleStatus, YearConfiguration
from carbon.services import year_create
from carbon.taxonomy import Module
from lab.api import views
from modules.base import EntrySource
from modules.engine import entries_recompute, stats_refresh
from modules.registry import KINDS, ComputeContext, EntryKindSpec
from modules.rows import OVERRIDE_COLUMN, single_row_values
from modules.services import module_validate
from tests.factories import UnitFactory, user_with_roles

pytestmark = pytest.mark.django_db

YEAR = 2025
LABS = {"own": "13032", "other": "14011"}  # IT4R (under SG, ENAC) and STI-LAB: both level-4 labs of `tree`
PREFIX = "api/v1/units/<str:cf>/years/"
ROLES = {
    "standard": "calco2.user.standard@own:13032",
    "principal": "calco2.user.principal@unit:13032",
    "metier": "calco2.backoffice.metier@affiliation:13100",  # SG: the lab's parent
    "auditor": "calco2.auditor@global",
    "auditor-affiliation": "calco2.auditor@affiliation:13030",
    "admin": "calco2.backoffice.admin@global",
    "anonymous": None,
}
STANDARD_ID, PRINCIPAL_ID, COLLEAGUE_ID, STRANGER_ID = "555001", "444001", "666001", "777001"
MISSING_PK = 99999999
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as conftest: the users are made once per module
# Rows of kinds that take an override carry a total: 1 kg in the own lab, a distinctive amount in the other lab,
# so a total (module, report, results) that counted another lab's row shows it.
OWN_KG, FOREIGN_KG = "1", "987654"
VALIDATED_MODULE = Module.purchase  # validated in both labs: the results count it (decision 9)
MARK = "MARK"  # every seeded note starts with it: `?search=MARK` finds every seeded row one may read

# --- one minimal valid row per kind (the CSV contract's cells). A test checks it covers every kind. ----
VALID_CELLS: dict[str, dict[str, str]] = {
    "building_room": {"building_location": "ECUBLENS", "building_name": "BC", "room_name": "BC-150",
                      "room_type": "office"},
    "energy_combustion": {"name": "Natural gas", "unit": "kWh", "quantity": "1000"},
    "equipment": {"equipment_category": "it", "equipment_id": "INV-0001", "name": "Laptop",
                  "equipment_class": "Laptop", "sub_class": "Standard", "active_usage_hours_per_week": "40",
                  "standby_usage_hours_per_week": "128"},
    "external_cloud": {"service_type": "compute", "provider": "AWS", "spent_amount": "200", "currency": "eur"},
    "external_ai": {"provider": "Mistral AI", "usage_type": "text", "requests_per_user_per_day": "5_20",
                    "fte_count": "3"},
    "research_facility": {"researchfacility_id": "RF-001", "researchfacility_name": "Facility A", "use": "10",
                          "use_unit": "hours"},
    "animal_facility": {"researchfacility_id": "1321", "researchfacility_name": "CPG",
                        "researchfacility_type": "mice", "use": "258", "use_unit": "housings"},
    "member": {"name": "Alice", "sius_code": "53", "user_institutional_id": "", "fte": "0.8"},
    "student": {"fte": "12.5"},
    "process_emission": {"category": "CO2", "subcategory": "industrial", "quantity": "100"},
    "purchase": {"purchase_category": "it_equipment", "name": "Microscope", "supplier": "ACME",
                 "total_spent_amount": "200", "currency": "CHF", "purchase_institutional_code": "PIC-IT"},
    "additional_purchase": {"name": "Liquid Nitrogen", "unit": "kg", "annual_consumption": "10",
                            "coef_to_kg": "0.8"},
    "plane": {"origin_iata": "GVA", "destination_iata": "CDG", "user_institutional_id": "",
              "departure_date": "2025-03-10", "number_of_trips": "1", "cabin_class": "economy"},
    "train": {"origin_name": "Geneva", "origin_country_code": "CH", "destination_name": "Lausanne",
              "destination_country_code": "CH", "user_institutional_id": "", "departure_date": "2025-03-12",
              "number_of_trips": "1", "cabin_class": "second"},
    "toy_widget": {"widget_name": "Sprocket", "count": "4"},
}
TRAVELLER = "user_institutional_id"


def cells_for(spec: EntryKindSpec, *, traveller: str, note: str) -> dict[str, str]:
    cells = {**VALID_CELLS[spec.name], "note": note}
    if TRAVELLER in cells:
        cells[TRAVELLER] = traveller
        if "name" in cells:  # a person (headcount): their name carries the row's marker too
            cells["name"] = f"{note}-person"
    return cells


def one_row_per_module(spec: EntryKindSpec) -> bool:
    """The kind holds at most one row per module report (students: the unit's total FTE)."""
    return any(isinstance(c, UniqueConstraint) and tuple(c.fields) == ("module_report",)
               for c in spec.model._meta.constraints)


# --- row situations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Situation:
    name: str
    lab: str  # "own" | "other"
    creator: str | None  # a key of World.people
    traveller: str  # the traveller cell (kinds that have one)
    source: int = EntrySource.USER_MANUAL


def situations(spec: EntryKindSpec) -> list[Situation]:
    """The rows seeded for a kind, from what its spec declares (decision 16: traveller or creator)."""
    owner = spec.owner_field is not None

    def traveller(standard_owned: bool, other: str) -> str:
        return STANDARD_ID if owner and standard_owned else other

    own = [
        Situation("colleague", "own", "colleague", traveller(False, COLLEAGUE_ID)),
        Situation("backoffice-file", "own", None if owner else "standard", traveller(True, "666004"),
                  EntrySource.CSV_MODULE_PER_YEAR),
        Situation("mine-created", "own", "standard", traveller(False, "666002")),
    ]
    if owner:
        own.append(Situation("mine-traveller", "own", "principal", STANDARD_ID))
    other = [
        Situation("other-lab", "other", "stranger", traveller(False, STRANGER_ID)),
        Situation("other-lab-mine", "other", "standard", traveller(True, "777002")),
    ]
    if one_row_per_module(spec):
        return [own[0], other[0]]
    return own + other


@dataclass
class Row:
    kind: str
    situation: Situation
    pk: int
    note: str
    traveller: str | None
    creator_name: str | None
    kg: str | None = None  # the row's override (kinds that take one)

    @property
    def lab(self) -> str:
        return self.situation.lab

    def owned_by_standard(self) -> bool:
        spec = KINDS[self.kind]
        by_traveller = spec.owner_field is not None and self.traveller == STANDARD_ID
        return by_traveller or self.situation.creator == "standard"


# --- the rules (product.md §2/§6, decision 16) -----------------------------------------------------------
def lab_access(role: str, target: str) -> str | None:
    """What a role is in a lab: "principal", "standard", "reader" (back office, read-only) or None (404)."""
    return {
        ("principal", "own"): "principal",
        ("standard", "own"): "standard",
        ("metier", "own"): "reader",
        ("admin", "own"): "reader",
        ("admin", "other"): "reader",
    }.get((role, target))


def kind_reachable(role: str, target: str, spec: EntryKindSpec) -> bool:
    access = lab_access(role, target)
    return access is not None and (access != "standard" or spec.standard_editable)


def readable(role: str, target: str, row: Row) -> bool:
    """May `role` read `row` through the URL of lab `target`."""
    if row.lab != target or not kind_reachable(role, target, KINDS[row.kind]):
        return False
    return lab_access(role, target) != "standard" or row.owned_by_standard()


def editable(role: str, target: str, row: Row) -> bool:
    """Lab members change rows they may read, except the back office's per-year file rows."""
    return (readable(role, target, row) and lab_access(role, target) in {"principal", "standard"}
            and row.situation.source != EntrySource.CSV_MODULE_PER_YEAR)


def visible_anywhere(role: str, row: Row) -> bool:
    return any(readable(role, target, row) for target in LABS)


ANONYMOUS = {401, 403}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


# --- discovery -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    route: str
    endpoint: str  # years | report | validation | results | entries | entry | upload
    methods: tuple[str, ...]
    spec: EntryKindSpec | None
    params: tuple[str, ...]

    @property
    def group(self) -> str:
        return self.spec.name if self.spec is not None else "unit"


ENDPOINTS = {views.UnitYearsView: "years", views.ReportView: "report", views.ModuleValidationView: "validation",
             views.ResultsView: "results", views.EntryUploadView: "upload",
             views.TravellersView: "travellers"}
READ_ONLY_ENDPOINTS = {"years", "report", "results", "travellers"}  # GET: 200 in one's labs, 404 elsewhere
FRAMEWORK_HANDLERS = {"options", "head"}  # DRF's metadata and Django's HEAD-as-GET: checked separately


def walk(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def view_of(pattern: URLPattern) -> tuple[type, dict, tuple[str, ...]]:
    callback = pattern.callback
    if getattr(callback, "actions", None):
        methods = tuple(sorted(m.upper() for m in callback.actions if m not in FRAMEWORK_HANDLERS))
        return callback.cls, callback.initkwargs, methods
    cls = callback.view_class
    methods = tuple(sorted(m.upper() for m in cls.http_method_names
                           if m not in FRAMEWORK_HANDLERS and callable(getattr(cls, m, None))))
    return cls, getattr(callback, "view_initkwargs", {}), methods


def discover() -> tuple[list[Route], list[str]]:
    routes, unknown = [], []
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith(PREFIX):
            continue
        cls, initkwargs, methods = view_of(pattern)
        params = tuple(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else ()
        if issubclass(cls, views.EntryViewSet):
            endpoint = "entry" if "pk" in params else "entries"
        else:
            endpoint = ENDPOINTS.get(cls)
        if endpoint is None:
            unknown.append(route)
            continue
        routes.append(Route(route, endpoint, methods, initkwargs.get("spec"), params))
    return routes, unknown


ROUTES, UNKNOWN_ROUTES = discover()
GROUPS = ["unit", *sorted(KINDS)]
CASES = list(itertools.product(ROLES, GROUPS))


def fill(route: Route, *, cf: str, module: str = "", pk: int | None = None) -> str:
    url = route.route
    for param, value in (("cf", cf), ("year", YEAR), ("module", module), ("pk", pk)):
        url = url.replace(f"<str:{param}>", str(value)).replace(f"<int:{param}>", str(value))
    assert "<" not in url, f"a path parameter of {route.route} is not filled: extend fill()"
    return "/" + url


# --- data ---------------------------------------------------------------------------------------------
@dataclass
class World:
    people: dict
    users: dict
    rows: list[Row] = field(default_factory=list)

    def rows_of(self, kind: str) -> list[Row]:
        return [r for r in self.rows if r.kind == kind]

    def foreign_texts(self, role: str) -> set[str]:
        """What must never appear in a body `role` gets: the id, note, traveller and creator of every row it
        may not read (minus what a row it may read shows too)."""
        hidden = [r for r in self.rows if not visible_anywhere(role, r)]
        shown = [r for r in self.rows if visible_anywhere(role, r)]
        texts = {str(r.pk) for r in hidden} | {r.note for r in hidden}
        texts |= {r.traveller for r in hidden if r.traveller} - {r.traveller for r in shown}
        texts |= {r.creator_name for r in hidden if r.creator_name} - {r.creator_name for r in shown}
        texts |= {r.kg for r in hidden if r.kg == FOREIGN_KG} - {r.kg for r in shown}
        return texts

    def module_rows(self, target: str, module: Module) -> list[Row]:
        return [r for r in self.rows if r.lab == target and KINDS[r.kind].module == module]


def module_report(cf: str, spec: EntryKindSpec) -> ModuleReport:
    return ModuleReport.objects.select_related("report__unit").get(report__unit__institutional_id=cf,
                                                                   report__year_id=YEAR, module=spec.module)


def build_world() -> World:
    """The 2025 campaign over conftest's `tree` (the same units, built here once per module), opened, with the
    people and every kind's rows in every situation."""
    root = UnitFactory(institutional_code="10000", institutional_id="10000", name="EPFL")
    enac = UnitFactory(institutional_code="12635", institutional_id="13030", name="ENAC", parent=root)
    sg = UnitFactory(institutional_code="12700", institutional_id="13100", name="SG", parent=enac)
    UnitFactory(institutional_code="14270", institutional_id="13032", name="IT4R", parent=sg)
    sti = UnitFactory(institutional_code="13000", institutional_id="14000", name="STI", parent=root)
    sti_inst = UnitFactory(institutional_code="13010", institutional_id="14010", name="STI-INST", parent=sti)
    UnitFactory(institutional_code="13011", institutional_id="14011", name="STI-LAB", parent=sti_inst)
    year_create(year=YEAR)
    YearConfiguration.objects.filter(year=YEAR).update(is_started=True)
    people = {
        "standard": user_with_roles(ROLES["standard"], institutional_id=STANDARD_ID, display_name="Sam Standard"),
        "principal": user_with_roles(ROLES["principal"], institutional_id=PRINCIPAL_ID,
                                     display_name="Pat Principal"),
        "colleague": user_with_roles("calco2.user.standard@own:13032", institutional_id=COLLEAGUE_ID,
                                     display_name="MARK-colleague-name"),
        "stranger": user_with_roles("calco2.user.principal@unit:14011", institutional_id=STRANGER_ID,
                                    display_name="MARK-stranger-name"),
    }
    users = {role: people.get(role) or (user_with_roles(claim) if claim else None) for role, claim in ROLES.items()}
    world = World(people=people, users=users)
    for kind_index, name in enumerate(sorted(KINDS)):
        spec = KINDS[name]
        reports = {lab: module_report(cf, spec) for lab, cf in LABS.items()}
        for situation_index, situation in enumerate(situations(spec)):
            report = reports[situation.lab]
            note = f"{MARK}-{situation.name}-{name}#"  # "#": no marker is a prefix of another
            cells = cells_for(spec, traveller=situation.traveller, note=note)
            if spec.override_leaf is not None:
                cells[OVERRIDE_COLUMN] = OWN_KG if situation.lab == "own" else FOREIGN_KG
            values, _ = single_row_values(spec, cells, unit=report.report.unit, year=YEAR)
            creator = people.get(situation.creator)
            pk = 7700000 + kind_index * 100 + situation_index  # distinctive: a leaked id is found in any body
            spec.model.objects.create(pk=pk, module_report=report, source=situation.source, created_by=creator,
                                      **values)
            world.rows.append(Row(name, situation, pk, note, cells.get(TRAVELLER),
                                  creator.display_name if creator and situation.creator != "standard" else None,
                                  cells.get(OVERRIDE_COLUMN)))
        entries_recompute(spec, list(spec.model.objects.all()), ComputeContext(year=YEAR))
    stats_refresh(ModuleReport.objects.filter(report__year_id=YEAR).values_list("pk", flat=True))
    for cf in LABS.values():
        module_validate(unit_cf=cf, year=YEAR, module=VALIDATED_MODULE)
    return world


@pytest.fixture(scope="module")
def world_database(django_db_setup, django_db_blocker):
    """`build_world` once for the module, in a transaction rolled back after the module's last test (each test
    runs in its own savepoint of it, as with conftest's `demo_database`)."""
    with django_db_blocker.unblock(), transaction.atomic(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def world(world_database, db) -> World:
    return world_database


# --- the database, before and after ---------------------------------------------------------------------
IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}


def rows_written() -> int:
    """Rows inserted, updated or deleted so far by this transaction, in any table (PostgreSQL's counters)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
                       "WHERE NOT relname = ANY(%s)", [sorted(IGNORED_TABLES)])
        return cursor.fetchone()[0]


def entry_counts() -> dict[str, int]:
    """The number of rows of every kind, in one query."""
    sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {connection.ops.quote_name(s.model._meta.db_table)}"
                             for s in KINDS.values())
    with connection.cursor() as cursor:
        cursor.execute(sql, list(KINDS))
        return dict(cursor.fetchall())


def snapshot(spec: EntryKindSpec | None) -> dict:
    """What a write may change: the kind's rows (every column), the labs' module reports, every kind's count."""
    state = {"module_reports": list(ModuleReport.objects.filter(report__year_id=YEAR).order_by("pk").values(
        "pk", "status", "stats", "reopened_at", "reopened_reason")), "counts": entry_counts()}
    if spec is not None:
        state[spec.name] = list(spec.model.objects.order_by("pk").values())
    return state


VOLATILE = {"note", "updated_at", "kg_co2eq"}  # what a PATCH of the note may change (recomputed total)


# --- one request, checked ---------------------------------------------------------------------------------
@dataclass
class Attempt:
    method: str
    url: str
    route: Route
    target: str  # "own" | "other"
    expected: set[int] | None  # None: any status below 500
    row: Row | None = None
    module: str = ""
    data: object = None
    multipart: bool = False
    list_ids: set[int] | None = None  # a list must show exactly these rows
    effect: str | None = None  # the allowed write's effect to check: created | changed | deleted | validated …
    extra: Callable[[object], list[str]] | None = None  # rules on a 200's body (report, travellers)

    def label(self) -> str:
        where = f" [{self.row.situation.name} row {self.row.pk}]" if self.row else ""
        return f"{self.method} {self.url}{where}"


class Checker:
    def __init__(self, world: World, role: str):
        self.world, self.role = world, role
        self.client = Client(raise_request_exception=False)
        if world.users[role] is not None:
            self.client.force_login(world.users[role])
        self.foreign = world.foreign_texts(role)
        self.problems: list[str] = []
        self.count = 0

    def send(self, attempt: Attempt):
        method = getattr(self.client, attempt.method.lower())
        if attempt.multipart:
            return method(attempt.url, attempt.data)
        if attempt.data is None:
            return method(attempt.url)
        return method(attempt.url, json.dumps(attempt.data), content_type="application/json")

    def run(self, attempt: Attempt, prepare=None):
        """Send in a savepoint rolled back afterwards; check status, database and body. Returns
        (status, body text) for comparisons."""
        self.count += 1
        spec = attempt.route.spec
        with transaction.atomic():  # a savepoint, rolled back below
            if prepare is not None:
                prepare()
            reads = attempt.method in READ_METHODS  # a read writes nothing: the write counters say it in one query
            before, written = None if reads else snapshot(spec), rows_written()
            response = self.send(attempt)
            delta = rows_written() - written
            after = None if reads else snapshot(spec)
            body = response.content.decode("utf-8", "replace")
            self._check(attempt, response, body, before, after, delta)
            transaction.set_rollback(True)
        return response.status_code, body

    def problem(self, attempt: Attempt, text: str, body: str = "") -> None:
        self.problems.append(f"{self.role}: {attempt.label()}: {text}" + (f" — body {body[:300]}" if body else ""))

    def _check(self, attempt, response, body, before, after, delta):
        status = response.status_code
        if status >= 500 or (attempt.expected is not None and status not in attempt.expected):
            self.problem(attempt, f"status {status}, expected {sorted(attempt.expected or [])}", body)
        if status >= 500:
            return
        if status >= 400 and attempt.method != "HEAD":
            payload = response.json() if body.startswith("{") else {}
            if not {"code", "detail"} <= set(payload):
                self.problem(attempt, "a 4xx without code and detail", body)
        leaked = sorted(text for text in self.foreign if text in body)
        if leaked:
            self.problem(attempt, f"foreign data in the body: {leaked}", body)
        if status < 300 and body[:1] in ("{", "["):
            data = response.json()
            if attempt.target == "own":
                counted = [f"{key}={value}" for key, value in amounts(data) if value >= Decimal(FOREIGN_KG)]
                if counted:
                    self.problem(attempt, f"a total counts another lab's rows: {counted}", body)
            for text in attempt.extra(data) if attempt.extra else []:
                self.problem(attempt, text, body)
        if attempt.method in READ_METHODS:
            if delta:
                self.problem(attempt, f"a read wrote {delta} database rows")
            if attempt.list_ids is not None and status == 200:
                listed = response.json()
                ids = {r["id"] for r in listed["results"]}
                if ids != attempt.list_ids or listed["count"] != len(attempt.list_ids):
                    self.problem(attempt, f"listed {sorted(ids)} (count {listed['count']}), "
                                          f"expected {sorted(attempt.list_ids)}")
        elif status >= 300 or attempt.effect == "dry-run":
            # refused, or a dry run: nothing changed (a dry run's check writes in a rolled-back savepoint, so
            # only its counters move)
            if delta and attempt.effect != "dry-run":
                self.problem(attempt, f"a refused write wrote {delta} database rows")
            if before != after:
                self.problem(attempt, "the database changed")
            if attempt.effect == "dry-run" and status == 200 and (
                    response.json().get("failed") or response.json().get("rows_valid") != 1):
                self.problem(attempt, f"the dry run did not accept its one valid row: {response.json()}")
        else:
            self._check_effect(attempt, response, before, after)

    def _check_effect(self, attempt, response, before, after):
        spec, user = attempt.route.spec, self.world.users[self.role]
        effect = attempt.effect
        if effect == "created":
            new = [r for r in after[spec.name] if r["id"] not in {b["id"] for b in before[spec.name]}]
            if len(new) != 1 or response.json().get("id") != new[0]["id"]:
                self.problem(attempt, f"not exactly one row created: {new}")
            elif (new[0]["note"] != "created" or new[0]["created_by_id"] != user.pk
                  or new[0]["module_report_id"] != module_report(LABS[attempt.target], spec).pk
                  or new[0]["source"] != EntrySource.USER_MANUAL):
                self.problem(attempt, f"the created row is not as sent: {new[0]}")
        elif effect in {"changed", "deleted"}:
            pk = attempt.row.pk
            old = next(r for r in before[spec.name] if r["id"] == pk)
            new = next((r for r in after[spec.name] if r["id"] == pk), None)
            others_before = [r for r in before[spec.name] if r["id"] != pk]
            others_after = [r for r in after[spec.name] if r["id"] != pk]
            if others_before != others_after:
                self.problem(attempt, "other rows changed")
            if effect == "deleted" and new is not None:
                self.problem(attempt, "the row is still there")
            if effect == "changed" and (new is None or new["note"] != "changed"
                                        or {k: v for k, v in new.items() if k not in VOLATILE}
                                        != {k: v for k, v in old.items() if k not in VOLATILE}):
                self.problem(attempt, f"the row did not change as sent: {old} → {new}")
        elif effect in {"validated", "in_progress"}:
            status = ModuleReport.objects.get(report__unit__institutional_id=LABS[attempt.target],
                                              report__year_id=YEAR, module=Module.from_name(attempt.module)).status
            wanted = ModuleStatus.VALIDATED if effect == "validated" else ModuleStatus.IN_PROGRESS
            if status != wanted:
                self.problem(attempt, f"module status {status}, expected {wanted}")
        else:
            self.problem(attempt, f"an unexpected write succeeded ({response.status_code})")


def amounts(data, key: str = "") -> Iterator[tuple[str, Decimal]]:
    """Every amount in kg of a JSON body (keys naming kg), however deep."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from amounts(value, name)
    elif isinstance(data, list):
        for item in data:
            yield from amounts(item, key)
    elif "kg" in key and isinstance(data, (str, int, float)) and not isinstance(data, bool):
        try:
            amount = Decimal(str(data))
        except InvalidOperation:
            return
        yield key, amount


def report_rules(world: World, role: str, target: str) -> Callable[[dict], list[str]]:
    """A standard user sees no count of the lab's rows, no total of a module in progress, and only the kinds
    they enter; everyone else counts exactly the lab's rows (none of another lab's)."""
    access = lab_access(role, target)

    def check(body: dict) -> list[str]:
        problems = []
        for module in body["modules"]:
            name, kinds = module["module"], [k["kind"] for k in module["kinds"]]
            if access == "standard":
                if module["entries"] is not None:
                    problems.append(f"{name}: a standard user is shown the lab's row count {module['entries']}")
                if module["status"] != "validated" and module["kg"] is not None:
                    problems.append(f"{name}: a standard user is shown the total in progress {module['kg']}")
                if hidden := [k for k in kinds if not KINDS[k].standard_editable]:
                    problems.append(f"{name}: a standard user is shown kinds {hidden}")
            elif module["entries"] != len(world.module_rows(target, Module.from_name(name))):
                problems.append(f"{name}: {module['entries']} entries, the lab has "
                                f"{len(world.module_rows(target, Module.from_name(name)))}")
        return problems

    return check


def traveller_rules(world: World, role: str, target: str) -> Callable[[list], list[str]]:
    """The traveller picker: the lab's headcount for the principal (and readers); a standard user only
    themselves."""
    lab_members = {r.traveller for r in world.rows if r.kind == "member" and r.lab == target}
    allowed = {STANDARD_ID} & lab_members if lab_access(role, target) == "standard" else lab_members

    def check(body: list) -> list[str]:
        shown = {person["user_institutional_id"] for person in body}
        return [] if shown == allowed else [f"travellers {sorted(shown)}, expected {sorted(allowed)}"]

    return check


# --- the attempts of one (role, group) --------------------------------------------------------------------
def unit_attempts(world: World, role: str) -> list[Attempt]:
    attempts = []
    for route in [r for r in ROUTES if r.spec is None]:
        for target, method in itertools.product(LABS, route.methods):
            access = lab_access(role, target)
            cf = LABS[target]
            if route.endpoint == "validation":
                for module in [*(m.name for m in Module), "no_such_module"]:
                    if ROLES[role] is None:
                        expected = ANONYMOUS
                    elif access is None:
                        expected = {404}
                    elif access != "principal":
                        expected = {403}
                    else:
                        expected = {404} if module == "no_such_module" else {200}
                    effect = "validated" if method == "POST" else "in_progress"
                    attempts.append(Attempt(method, fill(route, cf=cf, module=module), route, target, expected,
                                            module=module, effect=effect, extra=report_rules(world, role, target)))
                continue
            assert route.endpoint in READ_ONLY_ENDPOINTS and method == "GET", f"{route.route}: {method} has no rule"
            expected = ANONYMOUS if ROLES[role] is None else {200} if access else {404}
            extra = {"report": report_rules, "travellers": traveller_rules}.get(route.endpoint)
            attempts.append(Attempt(method, fill(route, cf=cf), route, target, expected,
                                    extra=extra(world, role, target) if extra else None))
    return attempts


def upload_file(spec: EntryKindSpec) -> SimpleUploadedFile:
    """A unit file of the kind (no unit column) with one valid row."""
    cells = cells_for(spec, traveller=STANDARD_ID, note="uploaded")
    lines = [",".join(cells), ",".join(cells.values())]
    return SimpleUploadedFile(f"{spec.name}.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def kind_attempts(world: World, role: str, spec: EntryKindSpec) -> list[tuple[Attempt, object]]:
    """(attempt, prepare) pairs; `prepare` makes room for a new row of a one-row-per-module kind."""
    attempts = []
    rows = world.rows_of(spec.name)
    routes = [r for r in ROUTES if r.spec is spec]
    anonymous = ROLES[role] is None

    def make_room(target):
        if not one_row_per_module(spec):
            return None
        return lambda: spec.model.objects.filter(module_report=module_report(LABS[target], spec)).delete()

    for route, target in itertools.product(routes, LABS):
        cf, access = LABS[target], lab_access(role, target)
        reachable = kind_reachable(role, target, spec)
        gate = ANONYMOUS if anonymous else None if reachable else {404}
        member = access in {"principal", "standard"}
        for method in route.methods:
            if route.endpoint == "entries" and method == "GET":
                shown = [r for r in rows if readable(role, target, r)]
                queries = ["", f"?search={MARK}", "?ordering=-note&page_size=200", "?source=csv_module_per_year"]
                for query in queries:
                    ids = {r.pk for r in shown if query != "?source=csv_module_per_year"
                           or r.situation.source == EntrySource.CSV_MODULE_PER_YEAR}
                    attempts.append((Attempt("GET", fill(route, cf=cf) + query, route, target, gate or {200},
                                             list_ids=ids), None))
                for traveller in sorted({r.traveller for r in rows if r.traveller and spec.owner_field}):
                    ids = {r.pk for r in shown if r.traveller == traveller}
                    attempts.append((Attempt("GET", fill(route, cf=cf) + f"?{TRAVELLER}={traveller}", route, target,
                                             gate or {200}, list_ids=ids), None))
            elif route.endpoint == "entries" and method == "POST":
                body = cells_for(spec, traveller=STANDARD_ID, note="created")
                attempts.append((Attempt("POST", fill(route, cf=cf), route, target,
                                         gate or ({201} if member else {403}), data=body, effect="created"),
                                 make_room(target)))
            elif route.endpoint == "upload" and method == "POST":
                expected = gate or ({200} if access == "principal" else {403})
                attempts.append((Attempt("POST", fill(route, cf=cf), route, target, expected, multipart=True,
                                         data={"file": upload_file(spec), "dry_run": "true"}, effect="dry-run"),
                                 make_room(target)))
            elif route.endpoint == "entry":
                for row in [*rows, None]:
                    pk = row.pk if row else MISSING_PK
                    url = fill(route, cf=cf, pk=pk)
                    if gate:
                        expected = gate
                    elif method == "GET":
                        expected = {200} if row and readable(role, target, row) else {404}
                    elif not member:
                        # read-only roles: refused; a row they cannot read may answer 404 (compared with a
                        # missing row below: nothing is revealed either way)
                        expected = {403} if row and readable(role, target, row) else {403, 404}
                    elif row is None or not readable(role, target, row):
                        expected = {404}
                    else:
                        expected = {200} if editable(role, target, row) else {403}
                    data = {"note": "changed"} if method == "PATCH" else None
                    effect = {"PATCH": "changed", "DELETE": "deleted"}.get(method)
                    attempts.append((Attempt(method, url, route, target, expected, row=row, data=data,
                                             effect=effect), None))
            else:
                raise AssertionError(f"{route.route}: {method} has no rule here")
    return attempts


# --- the tests ---------------------------------------------------------------------------------------------
def test_every_lab_route_has_its_rules():
    assert not UNKNOWN_ROUTES, f"lab routes whose rules this matrix does not know: {UNKNOWN_ROUTES}"
    endpoints = {(r.endpoint, r.group) for r in ROUTES}
    for name in KINDS:
        assert {("entries", name), ("entry", name), ("upload", name)} <= endpoints, name
    assert {("years", "unit"), ("report", "unit"), ("validation", "unit"), ("results", "unit"),
            ("travellers", "unit")} <= endpoints


def test_the_valid_cells_cover_every_kind():
    assert set(VALID_CELLS) == set(KINDS), "add a valid row for the new kind to VALID_CELLS"
    for name, spec in KINDS.items():
        required = {c.name for c in spec.columns if c.required} - {TRAVELLER}
        assert required <= set(VALID_CELLS[name]), f"{name}: required columns missing"


@pytest.mark.parametrize(("role", "group"), CASES, ids=[f"{role}-{group}" for role, group in CASES])
def test_lab_api_matrix(world, role, group):
    checker = Checker(world, role)
    if group == "unit":
        attempts = [(a, None) for a in unit_attempts(world, role)]
    else:
        attempts = kind_attempts(world, role, KINDS[group])
    missing = {}  # (method, target) → the answer for a row that does not exist
    results = []
    for attempt, prepare in attempts:
        answer = checker.run(attempt, prepare)
        if attempt.route.endpoint == "entry":
            results.append((attempt, answer))
            if attempt.row is None:
                missing[(attempt.method, attempt.target)] = answer
    # A row one may not read answers exactly like a row that does not exist (nothing revealed by the code or
    # the message).
    for attempt, (status, body) in results:
        if attempt.row is not None and not readable(role, attempt.target, attempt.row):
            reference = missing[(attempt.method, attempt.target)]
            if (status, body) != reference:
                checker.problems.append(f"{role}: {attempt.label()}: answers {status} {body[:200]} but a missing "
                                        f"row answers {reference[0]} {reference[1][:200]}")
    assert checker.count, "no attempt"
    assert not checker.problems, f"{len(checker.problems)} problems in {checker.count} requests:\n" + "\n".join(
        checker.problems)


@pytest.mark.parametrize("kind", ["member", "student"])
def test_a_principal_changes_the_note_of_a_headcount_row(world, kind):
    """An edit is not a duplicate of the row it changes (the one-member-per-SCIPER and one-student-row rules)."""
    row = next(r for r in world.rows_of(kind) if r.situation.name == "colleague")
    client = Client()
    client.force_login(world.users["principal"])
    response = client.patch(f"/api/v1/units/{LABS['own']}/years/{YEAR}/entries/{kind}/{row.pk}/",
                            {"note": "changed"}, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert KINDS[kind].model.objects.get(pk=row.pk).note == "changed"


NOWHERE = "99999"  # a cf no unit has


def representative_routes() -> list[Route]:
    """One route per endpoint, and for the entry endpoints one per kind a standard user may / may not enter: the
    framework's methods are the view class's, not the kind's."""
    chosen: dict[tuple, Route] = {}
    for route in ROUTES:
        chosen.setdefault((route.endpoint, route.spec is not None and route.spec.standard_editable), route)
    return list(chosen.values())


@pytest.mark.parametrize("role", list(ROLES))
def test_framework_and_unrouted_methods_reveal_and_write_nothing(world, role):
    """HEAD answers as GET with no body; OPTIONS (DRF's metadata) and methods a route does not offer (405) write
    nothing, show nothing foreign, and answer for a lab out of reach exactly as for a unit that does not exist."""
    checker = Checker(world, role)
    anonymous = ROLES[role] is None
    for route in representative_routes():
        rows = world.rows_of(route.spec.name) if route.spec is not None else []
        seen: dict[str, dict] = {}
        for target in [*LABS, "nowhere"]:
            row = next((r for r in rows if r.lab == "other"), None)  # a row of the other lab: foreign to most
            url = fill(route, cf=LABS.get(target, NOWHERE), module=VALIDATED_MODULE.name,
                       pk=row.pk if row else MISSING_PK)
            answers = {}
            if "GET" in route.methods:
                get = checker.run(Attempt("GET", url, route, target, None))
                head = checker.run(Attempt("HEAD", url, route, target, {get[0]}))
                if head[1]:
                    checker.problems.append(f"{role}: HEAD {url}: a body")
                answers.update(GET=get, HEAD=head)
            answers["OPTIONS"] = checker.run(Attempt("OPTIONS", url, route, target, ANONYMOUS if anonymous else None))
            for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - set(route.methods)):
                answers[method] = checker.run(Attempt(method, url, route, target, ANONYMOUS if anonymous else {405},
                                                      data={"note": "changed"} if method != "GET" else None))
            if target == "nowhere":
                for lab in LABS:
                    if lab_access(role, lab) is None:
                        for method, answer in answers.items():
                            if seen[lab][method] != answer:
                                checker.problems.append(f"{role}: {method} {url}: a unit out of reach answers "
                                                        f"{seen[lab][method]}, one that does not exist {answer}")
            else:
                seen[target] = answers
    assert not checker.problems, f"{len(checker.problems)} problems in {checker.count} requests:\n" + "\n".join(
        checker.problems)
