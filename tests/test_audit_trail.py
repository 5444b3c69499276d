"""The auditor's trail (`audit.trail`, `/admin/audit/trail/`): scope × role, filters, keyset pages, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent, AuditSource
from audit.services import record
from audit.trail import (
    GLOBAL,
    USERS,
    Filters,
    classify,
    decode_cursor,
    encode_cursor,
    history_models,
    iter_trail,
    trail_rows,
)
from factors.models import PlaneFactor
from tests.factories import user_with_roles
from units.models import Unit, User
from units.scoping import Action, unit_scope

pytestmark = pytest.mark.django_db

TRAIL = "/admin/audit/trail/"
# roles × scopes: who reads the trail, and who must not.
AUDITORS = {
    "auditor-enac": "calco2.auditor@affiliation:13030",
    "auditor-sti": "calco2.auditor@affiliation:14000",
    "auditor-lab": "calco2.auditor@affiliation:13032",
    "auditor-global": "calco2.auditor@global",
    "admin": "calco2.backoffice.admin@global",
}
REFUSED = {
    "standard": "calco2.user.standard@own:13032",
    "principal": "calco2.user.principal@unit:13032",
    "metier": "calco2.backoffice.metier@affiliation:13030",
}


def everything(who, **filters):
    return list(iter_trail(who, filters=Filters(**filters), chunk=500))


# --- classification: every history model, so a new model cannot be forgotten ----------------------------
@pytest.mark.parametrize("model", history_models(), ids=lambda m: m._meta.label)
def test_every_history_model_is_classified(model):
    path = classify(model)
    base = model.instance_type
    from modules.base import Entry

    if issubclass(base, Entry):
        assert path == "module_report__report__unit"
    elif base._meta.app_label == "factors":
        assert path == GLOBAL
    elif base is User or base._meta.auto_created:
        assert path == USERS
    else:
        assert path in {GLOBAL, USERS, "", "unit", "report__unit", "content_object"}
    if path not in {GLOBAL, USERS, ""}:
        model.objects.filter(**{f"{path}__in": []}).exists()  # the path is a real lookup


def test_classification_examples():
    by_name = {m.instance_type.__name__: classify(m) for m in history_models()}
    assert by_name["Unit"] == ""
    assert by_name["CarbonReport"] == "unit"
    assert by_name["ModuleReport"] == "report__unit"
    assert by_name["PlaneTrip"] == "module_report__report__unit"
    assert by_name["PlaneFactor"] == GLOBAL
    assert by_name["User"] == USERS


# --- scope: list, counts, export -----------------------------------------------------------------------
@pytest.mark.parametrize("role", AUDITORS)
def test_auditor_sees_own_units_and_global_reference_data_only(demo, role):
    user = user_with_roles(AUDITORS[role])
    scope = unit_scope(user, Action.AUDIT)
    allowed = set(scope.units().values_list("institutional_id", flat=True))
    rows = everything(user)
    assert rows, "an auditor sees at least the global reference data"
    assert any(row["object_model"].startswith("factors.") and not row["unit"] for row in rows)
    for row in rows:
        if row["unit"]:
            assert row["unit"] in allowed, row
        if row["object_model"] in {"units.user", "units.user_user_permissions"}:
            assert scope.is_global, row
    if not scope.is_global:
        # Everything the global trail holds for these units (and the global data), nothing more.
        global_rows = everything(user_with_roles("calco2.auditor@global"))
        expected = [r for r in global_rows
                    if (r["unit"] in allowed) or (r["table"] != "audit_auditevent" and classify_of(r) == GLOBAL)]
        mine = {(r["table"], r["id"]) for r in rows}
        assert mine == {(r["table"], r["id"]) for r in expected}


def classify_of(row):
    for model in history_models():
        if model._meta.db_table == row["table"]:
            return classify(model)
    return None


def test_scoped_auditor_sees_its_entries_and_not_the_others(demo):
    enac = user_with_roles(AUDITORS["auditor-enac"])
    sti = user_with_roles(AUDITORS["auditor-sti"])
    enac_units = {r["unit"] for r in everything(enac, object_type="modules.planetrip")}
    sti_units = {r["unit"] for r in everything(sti, object_type="modules.planetrip")}
    assert not (enac_units & sti_units)


@pytest.mark.parametrize("role", ["auditor-enac", "auditor-global"])
def test_export_holds_the_same_rows_as_the_trail(demo, client, role):
    user = user_with_roles(AUDITORS[role])
    client.force_login(user)
    before = AuditEvent.objects.filter(action=AuditAction.EXPORTED).count()
    response = client.get(TRAIL + "export.csv?object_type=modules.planetrip")
    assert response.status_code == 200 and response.streaming
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = everything(user, object_type="modules.planetrip")
    assert len(lines) - 1 == len(expected)
    allowed = set(unit_scope(user, Action.AUDIT).units().values_list("institutional_id", flat=True))
    unit_col = lines[0].index("unit")
    assert all(line[unit_col] in allowed for line in lines[1:])
    events = AuditEvent.objects.filter(action=AuditAction.EXPORTED)
    assert events.count() == before + 1
    event = events.first()
    assert (event.actor, event.source, event.details["export"]) == (user, AuditSource.ADMIN, "audit_trail")

    response = client.get(TRAIL + "export.json?object_type=modules.planetrip")
    data = json.loads(b"".join(response.streaming_content))
    assert len(data) == len(expected)


def test_export_cells_are_formula_safe(demo, client):
    user = user_with_roles(AUDITORS["auditor-global"])
    record(AuditAction.DOWNLOADED, source=AuditSource.ADMIN, actor_label="=HYPERLINK(1)")
    client.force_login(user)
    response = client.get(TRAIL + "export.csv?action=downloaded")
    body = b"".join(response.streaming_content).decode()
    assert "=HYPERLINK" in body and ",=HYPERLINK" not in body


# --- the page --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", REFUSED)
def test_other_roles_get_403(demo, client, role):
    client.force_login(user_with_roles(REFUSED[role]))
    for path in (TRAIL, TRAIL + "export.csv", TRAIL + "export.json"):
        assert client.get(path).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED, details__export="audit_trail").exists()


def test_anonymous_goes_to_the_login(client):
    assert client.get(TRAIL).status_code == 302


@pytest.mark.parametrize("role", AUDITORS)
def test_page_and_index_link(demo, client, role):
    client.force_login(user_with_roles(AUDITORS[role]))
    response = client.get(TRAIL)
    assert response.status_code == 200
    assert b"trail-row" in response.content
    assert reverse("audit-trail").encode() in client.get(reverse("admin:index")).content
    assert client.post(TRAIL).status_code == 405
    assert client.post(TRAIL + "export.csv").status_code == 405


def test_index_has_no_link_for_metier(demo, client):
    client.force_login(user_with_roles(REFUSED["metier"]))
    assert b"audit-trail-link" not in client.get(reverse("admin:index")).content


def test_keyset_pages_walk_the_whole_trail_once(demo, client):
    user = user_with_roles(AUDITORS["auditor-enac"])
    full = everything(user)
    assert len(full) > 100  # several pages
    seen, after = [], None
    while True:
        page = trail_rows(user, after=after, limit=97)
        if not page:
            break
        seen.extend(page)
        after = decode_cursor(encode_cursor(page[-1]))
    assert [(r["table"], r["id"]) for r in seen] == [(r["table"], r["id"]) for r in full]
    assert len({(r["table"], r["id"]) for r in seen}) == len(seen)
    keys = [(r["when"], r["table"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)
    # The page's "older" link follows the same keyset.
    client.force_login(user)
    first = client.get(TRAIL)
    older = first.context["older_url"]
    second = client.get(TRAIL + older)
    assert [r["id"] for r in second.context["rows"]] == [r["id"] for r in full[50:100]]
    back = client.get(TRAIL + second.context["newer_url"])
    assert [(r["table"], r["id"]) for r in back.context["rows"]] == [(r["table"], r["id"]) for r in full[:50]]
    assert back.context["newer_url"] == ""
    # Backwards with `before`: the rows just newer than a cursor, newest first.
    assert trail_rows(user, before=decode_cursor(encode_cursor(full[10])), limit=4) == full[6:10]


def test_a_page_is_one_union_query_plus_its_people_and_units(demo, django_assert_max_num_queries):
    user = user_with_roles(AUDITORS["auditor-enac"])
    with django_assert_max_num_queries(6):  # the scope's roles and units, the page, its people, its units
        rows = trail_rows(user, limit=50)
    assert len(rows) == 50


# --- filters ---------------------------------------------------------------------------------------------
def test_filters(demo):
    auditor = user_with_roles(AUDITORS["auditor-global"])
    factor = PlaneFactor.objects.order_by("pk").first()
    factor._history_user = auditor
    factor.save()
    record(AuditAction.DOWNLOADED, source=AuditSource.ADMIN, actor=auditor)
    rows = everything(auditor)
    by_user = next(r["actor_id"] for r in rows if r["actor_id"] and r["table"] != "audit_auditevent")
    assert all(r["actor_id"] == by_user for r in everything(auditor, user=by_user))
    mine = everything(auditor, user=auditor.pk)
    # The auditor's own account rows too: the role sync of its creation names the person.
    assert {r["table"] for r in mine} == {"audit_auditevent", "factors_historicalplanefactor", "units_historicaluser"}
    planes = everything(auditor, object_type="factors.planefactor")
    assert planes and all(r["object_model"] == "factors.planefactor" for r in planes)
    created = everything(auditor, action="created")
    assert created and all(r["action"] == "created" for r in created)
    assert all(r["action"] == "changed" for r in everything(auditor, action="changed"))
    newest = rows[0]["when"]
    day = newest.date()
    window = everything(auditor, date_from=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
                        date_to=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    assert window and all(r["when"].date() == day for r in window)
    assert not everything(auditor, date_to=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    # Through the query string, as the page's form sends it.
    filters = Filters.from_query({"date_from": "2000-01-01", "date_to": "2000-01-02", "user": "12"})
    assert filters.user == "12" and filters.date_to == dt.datetime(2000, 1, 3, tzinfo=dt.UTC)


def test_unit_filter_is_the_subtree_within_scope(demo):
    auditor = user_with_roles(AUDITORS["auditor-global"])
    rows = everything(auditor, unit="13030")
    subtree = set(unit_scope(user_with_roles("calco2.auditor@affiliation:13030"), Action.AUDIT).units()
                  .values_list("institutional_id", flat=True))
    assert rows and all(r["unit"] in subtree for r in rows)
    sti = user_with_roles(AUDITORS["auditor-sti"])
    assert not everything(sti, unit="13030")


def test_who_validated_it4r_travel_module(demo, client):
    principal = User.objects.get(institutional_id="demo-principal") if User.objects.filter(
        institutional_id="demo-principal").exists() else user_with_roles("calco2.user.principal@unit:13032")
    it4r = Unit.objects.get(institutional_id="13032")
    record(AuditAction.MODULE_VALIDATED, source=AuditSource.LAB, actor=principal, unit=it4r, module="travel")
    for role in ("auditor-global", "auditor-enac", "auditor-lab"):
        auditor = user_with_roles(AUDITORS[role])
        rows = everything(auditor, action="module_validated", unit="13032")
        assert [(r["actor"], r["unit"], r["reason"]) for r in rows][:1] == [
            (principal.institutional_id, "13032", "module: travel")]
    assert not everything(user_with_roles(AUDITORS["auditor-sti"]), action="module_validated", unit="13032")
    client.force_login(user_with_roles(AUDITORS["auditor-global"]))
    response = client.get(TRAIL + "?action=module_validated&unit=13032")
    assert principal.institutional_id.encode() in response.content


def test_bad_filters_never_break_the_trail(demo, client):
    """Nonsense in any filter or cursor (a NUL, a bad date, an unknown action) is no match, never a 500."""
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    for query in ["date_from=notadate", "user=abc", "after=garbage", "before=%00", "action=zzz", "unit=%00",
                  "text=%00", "object_type=nope.nope", "source=%00"]:
        for path in ["/admin/audit/trail/", "/admin/audit/trail/export.csv"]:
            assert client.get(f"{path}?{query}").status_code == 200, (path, query)


# --- one row, whole: the diff, the event's details, the links; scoped like the list ------------------------
def newest_per_table():
    """The newest row of every table in the global trail: a sample that covers every kind of object."""
    seen = {}
    for row in everything(user_with_roles(AUDITORS["auditor-global"])):
        seen.setdefault(row["table"], row)
    return list(seen.values())


@pytest.mark.parametrize("role", AUDITORS)
def test_a_row_opens_for_exactly_the_auditors_who_see_it_in_the_list(demo, client, role):
    sample = newest_per_table()
    user = user_with_roles(AUDITORS[role])
    visible = {(r["table"], r["id"]) for r in everything(user)}
    client.force_login(user)
    assert len(sample) > 10
    for row in sample:
        response = client.get(row["page"])
        if (row["table"], row["id"]) in visible:
            assert response.status_code == 200, row
            assert row["object_type"] in response.content.decode()
        else:
            assert response.status_code == 404, row
            assert row["reason"] not in response.content.decode() or not row["reason"]


def test_a_factor_change_shows_field_before_and_after_with_labels(demo, client):
    factor = PlaneFactor.objects.get(year=2025, category="medium_to_long_haul", cabin_class="first")
    admin = user_with_roles(AUDITORS["admin"])
    factor.ef_kg_co2eq_per_km, factor._history_user, factor._change_reason = "0.5", admin, "typo"
    factor.save()
    client.force_login(user_with_roles(AUDITORS["auditor-sti"]))  # global reference data: every auditor
    row = trail_rows(user_with_roles(AUDITORS["auditor-sti"]), filters=Filters(object_type="factors.planefactor"),
                     limit=1)[0]
    assert (row["action"], row["reason"], row["actor"]) == ("changed", "typo", str(admin))
    page = client.get(row["page"]).content.decode()
    assert "0.60560000" in page and "0.50000000" in page and "ef kg co2eq per km" in page
    assert "rfi adjustment" not in page  # unchanged fields are not listed
    assert reverse("admin:factors_planefactor_history", args=[factor.pk]) in page
    assert reverse("admin:factors_planefactor_change", args=[factor.pk]) in page


def test_an_entry_created_by_an_import_links_its_job(demo, client):
    from carbon.jobs.models import Job, JobType, Pipeline
    from modules.registry import KINDS

    auditor = user_with_roles(AUDITORS["auditor-global"])
    pipeline = Pipeline.objects.create(kind="plane", year=2025, created_by=auditor)
    job = Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="plane", year=2025,
                             file_name="planes.csv", rows_done=30, created_by=auditor)
    trip = KINDS["plane"].model.objects.order_by("pk").first()
    trip.note, trip._change_reason = "renamed", f"plane CSV import; job {job.pk}"
    trip.save()
    row = trail_rows(auditor, filters=Filters(source="job"), limit=1)[0]
    assert (row["source"], row["job"], row["object_id"]) == ("job", job.pk, str(trip.pk))
    client.force_login(auditor)
    page = client.get(row["page"]).content.decode()
    assert reverse("admin:carbon_job_change", args=[job.pk]) in page and "planes.csv" in page and "30 rows" in page
    listing = client.get(TRAIL + "?source=job").content.decode()
    assert reverse("admin:carbon_job_change", args=[job.pk]) in listing


def test_a_long_value_is_cut_in_the_list_with_a_link_and_whole_on_its_page(demo, client):
    auditor = user_with_roles(AUDITORS["auditor-global"])
    long_text = "x" * 290 + "THE-END-" + "y" * 400
    event = record(AuditAction.EXPORTED, source=AuditSource.ADMIN, actor=auditor, note=long_text)
    client.force_login(auditor)
    listing = client.get(TRAIL + "?action=exported").content.decode()
    assert f"cut: {len('note: ' + long_text)} characters" in listing and "THE-END-" not in listing
    assert reverse("audit-trail-row", args=["audit_auditevent", event.pk]) in listing
    page = client.get(reverse("audit-trail-row", args=["audit_auditevent", event.pk])).content.decode()
    assert long_text in page
    exported = b"".join(client.get(TRAIL + "export.csv?action=exported").streaming_content).decode()
    assert long_text in exported  # exports are never cut


def test_source_and_text_filters(demo):
    auditor = user_with_roles(AUDITORS["auditor-global"])
    record(AuditAction.DOWNLOADED, source=AuditSource.API, actor=auditor, list="job errors", rows=3)
    commands = everything(auditor, source="command")
    assert commands and all(r["source"] == "command" for r in commands)
    assert {r["table"] for r in commands} > {"audit_auditevent"}  # history rows have a source too
    assert everything(auditor, source="api", action="downloaded")[0]["reason"] == "list: job errors, rows: 3"
    assert [r["reason"] for r in everything(auditor, text="job errors")] == ["list: job errors, rows: 3"]
    assert not everything(auditor, source="no-such-source")


# --- the three questions of the issue, answered on the demo as its auditor would -----------------------------
def download(client, query: str) -> list[dict]:
    body = b"".join(client.get(TRAIL + "export.csv?" + query).streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_demo_auditor_answers_the_three_questions(demo, client):
    client.force_login(User.objects.get(institutional_id="demo-auditor"))
    # 1. Who changed a plane factor of the 2025 campaign, from what to what?
    query = "object_type=factors.planefactor&action=changed"
    listing = client.get(TRAIL + "?" + query)
    (row,) = listing.context["rows"]
    assert (row["actor"], row["label"]) == ("Alex Admin", "short_to_medium_haul")
    page = client.get(row["page"]).content.decode()
    assert "0.60560000" in page and "0.44710000" in page
    ((actor, reason),) = [(r["actor"], r["reason"]) for r in download(client, query)]
    assert actor == "Alex Admin" and reason.startswith(
        "short-haul first class is booked like business: same factor; command line: load_demo")
    # 2. What did demo-admin import last week?
    week_ago = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    query = f"user=demo-admin&action=created&date_from={week_ago}"
    imported = download(client, query)
    assert {r["object_type"] for r in imported} == {"train trip"}
    with open(settings_file("train.csv"), encoding="utf-8") as trips:
        assert len(imported) == len(list(csv.DictReader(trips)))
    assert {r["source"] for r in imported} == {"command"}
    # 3. Who validated IT4R's travel module?
    query = "action=module_validated&unit=13032&text=professional_travel"
    (validated,) = download(client, query)
    assert (validated["actor"], validated["unit"], validated["source"]) == ("demo-principal", "13032", "command")


def settings_file(name: str):
    from django.conf import settings

    return settings.BASE_DIR / "fixtures" / "demo" / "2025" / name
