"""The admin reads like the domain: the index and the sidebar grouped by the eight modules (from the registries),
kg with sensible precision, emission types by name, words instead of misleading icons, job details as tables,
and no filter that lists thousands of options. On the demo."""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEvent
from carbon import taxonomy
from carbon.jobs.models import Job, JobType, Pipeline
from carbon.models import Emission
from carbon.taxonomy import Module
from factors.base import FACTOR_KINDS
from modules.registry import KINDS
from tests.factories import user_with_roles
from units.admin_display import display_kg
from units.models import Unit, UnitRoleGrant, User

ADMIN, METIER = "demo-admin", "demo-metier"


def login(client, who: str):
    client.force_login(User.objects.get(institutional_id=who))
    return client


def app_list(who: str) -> list[dict]:
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(institutional_id=who)
    return admin.site.get_app_list(request)


def captions(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<caption>(.*?)</caption>", html, re.S)]


@pytest.mark.parametrize("who", [ADMIN, METIER])
def test_every_model_the_user_may_view_is_in_exactly_one_group(demo, who):
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(institutional_id=who)
    viewable = {model for model, model_admin in admin.site._registry.items()
                if model_admin.has_module_permission(request)
                and (model_admin.has_view_permission(request) or model_admin.has_change_permission(request))}
    listed = [entry["model"] for group in app_list(who) for entry in group["models"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == viewable
    assert viewable  # both roles see part of the back office


def test_the_eight_modules_come_first_with_their_entries_then_factors(demo):
    groups = app_list(ADMIN)
    assert [str(g["name"]) for g in groups[:8]] == [m.label for m in Module]
    by_group = {g["app_label"]: [e["model"] for e in g["models"]] for g in groups}
    for spec in KINDS.values():
        assert spec.model in by_group[f"module-{spec.module.name}"], spec.name
    for factor in FACTOR_KINDS.values():
        module = KINDS[factor.recalculates[0]].module
        assert factor.model in by_group[f"module-{module.name}"], factor.name
    for models in by_group.values():  # entries before factors
        kinds = ["factor" if any(f.model is m for f in FACTOR_KINDS.values()) else "other" for m in models]
        assert kinds == sorted(kinds, key=lambda k: k == "factor")
    assert [str(g["name"]) for g in groups[8:]] == ["Reference data", "Campaign", "Workers' task queue",
                                                    "Organisation, people and roles", "Audit"]
    assert [e["model"]._meta.model_name for e in groups[9]["models"]][:2] == ["yearconfiguration", "carbonreport"]


def test_the_index_and_the_sidebar_show_the_groups(client, demo):
    login(client, ADMIN)
    index = client.get("/admin/").content.decode()
    assert captions(index)[:8] == [m.label for m in Module]
    # The sidebar of any admin page is the same list (Django's nav sidebar reads get_app_list).
    page = client.get(reverse("admin:modules_planetrip_changelist")).content.decode()
    sidebar = page[page.index('id="nav-sidebar"'):]
    assert captions(sidebar)[:2] == ["Headcount", "Professional travel"]
    # An app's own page keeps Django's list of that app.
    assert client.get("/admin/modules/").status_code == 200


def test_kg_precision_and_the_languages_thousands_separator(demo):
    with translation.override("en"):
        assert [display_kg(Decimal(v)) for v in ("12345.678", "12.345", "0.004567", "0")] == \
            ["12,346", "12.35", "0.0046", "0"]
    with translation.override("fr"):
        assert display_kg(Decimal("1234567.5")) == "1\u202f234\u202f568"
        assert display_kg(Decimal("12.345")) == "12,35"
    assert display_kg(None) == "—"


def test_entry_and_emission_lists_show_people_numbers_and_names(client, demo):
    login(client, ADMIN)
    plane = KINDS["plane"].model.objects.exclude(kg_co2eq=None).order_by("-kg_co2eq").first()
    listing = client.get(reverse("admin:modules_planetrip_changelist")).content.decode()
    with translation.override("en"):
        assert display_kg(plane.kg_co2eq) in listing
    assert str(plane.kg_co2eq) not in listing  # not the six stored decimals
    emission = Emission.objects.filter(kind=taxonomy.EntryKind.plane).first()
    emissions = client.get(reverse("admin:carbon_emission_changelist") + "?kind=20").content.decode()
    assert taxonomy.get(emission.emission_type).label in emissions
    assert f'<td class="field-emission_type">{emission.emission_type}</td>' not in emissions


def test_factor_lists_say_stale_in_words(client, demo):
    login(client, ADMIN)
    factor = FACTOR_KINDS["plane"].model.objects.first()
    factor.is_stale = True
    factor.save()
    page = client.get(reverse("admin:factors_planefactor_changelist")).content.decode()
    assert "In the latest import" in page and "no — stale, kept and still used" in page
    assert "field-is_stale" not in page


def test_verbose_names_are_proper_plurals(demo):
    for model in admin.site._registry:
        plural = str(model._meta.verbose_name_plural)
        assert not re.search(r"[^aeiou]ys\b|\bais\b|\bAIs\b", plural), (model, plural)
    assert str(KINDS["building_room"].model._meta.verbose_name_plural) == "building room entries"


def test_the_role_grant_page_has_a_filter_by_role_not_by_every_permission(client, demo):
    # Many permissions, as a real database has: the old filter listed each of them.
    content_type = ContentType.objects.get_for_model(UnitRoleGrant)
    Permission.objects.bulk_create([Permission(codename=f"extra_{i}", name=f"extra {i}", content_type=content_type)
                                    for i in range(3000)])
    user_with_roles("calco2.backoffice.metier@affiliation:13030", institutional_id="someone")
    login(client, ADMIN)
    response = client.get(reverse("admin:units_unitrolegrant_changelist"))
    html = response.content.decode()
    assert response.status_code == 200 and len(response.content) < 200_000
    filters = html[html.index('id="changelist-filter"'):] if 'id="changelist-filter"' in html else ""
    assert 0 < filters.count("<li") < 30 and html.count("<option") < 100
    assert '<td class="field-role">Back-office staff</td>' in html  # the role's name, not a permission's
    filtered = client.get(reverse("admin:units_unitrolegrant_changelist") + "?role=calco2.backoffice.metier")
    assert filtered.status_code == 200
    assert all("metier" in g.permission.codename for g in filtered.context["cl"].result_list)


def test_job_details_are_tables_and_escaped(client, demo):
    pipeline = Pipeline.objects.create(kind="plane", year=2025)
    job = Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="plane", year=2025,
                             summary={"rows read": 3, "created": 2},
                             errors=[{"row": 2, "column": "cabin_class", "reason": "<script>alert(1)</script>"}])
    login(client, ADMIN)
    html = client.get(reverse("admin:carbon_job_change", args=[job.pk])).content.decode()
    assert '<table class="json-table">' in html
    assert "<th scope=\"row\">rows read</th><td>3</td>" in html
    assert "<td>cabin_class</td>" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and '{"row": 2' not in html


def test_admin_exports_speak_codes_and_are_audited(client, demo):
    login(client, ADMIN)
    before = AuditEvent.objects.filter(action="exported").count()
    formats = admin.site._registry[Unit].get_export_formats()
    csv_index = next(i for i, f in enumerate(formats) if f().get_title() == "csv")
    response = client.post(reverse("admin:units_unit_export"), {
        "format": str(csv_index), "resource": "0",
        **{f"unitresource_{f}": "on" for f in ("institutional_code", "institutional_id", "name",
                                               "parent_institutional_code", "level")}})
    text = response.content.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["institutional_code", "institutional_id", "name"] and "parent_institutional_code" in header
    assert "id" not in header
    assert "ENAC" in text
    assert AuditEvent.objects.filter(action="exported").count() == before + 1


def test_a_job_with_many_row_errors_shows_the_first_and_links_the_csv(client, demo):
    pipeline = Pipeline.objects.create(kind="plane", year=2025)
    job = Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="plane", year=2025,
                             errors=[{"row": n, "column": "cabin_class", "reason": "unknown"} for n in range(1, 502)])
    login(client, ADMIN)
    html = client.get(reverse("admin:carbon_job_change", args=[job.pk])).content.decode()
    assert "200 of 501 shown." in html and reverse("api-job-errors", args=[job.pk]) in html
    assert "<td>200</td>" in html and "<td>201</td>" not in html


def test_factor_values_lose_their_padding_zeros_and_reports_show_totals(client, demo):
    from carbon.models import CarbonReport

    login(client, ADMIN)
    factor = FACTOR_KINDS["plane"].model.objects.exclude(ef_kg_co2eq_per_km=None).first()
    page = client.get(reverse("admin:factors_planefactor_changelist")).content.decode()
    assert f">{factor.ef_kg_co2eq_per_km.normalize():f}<" in page
    assert f">{factor.ef_kg_co2eq_per_km}<" not in page  # the column's padded decimals
    report = CarbonReport.objects.exclude(stats={}).order_by("-stats__total").first()
    total = Decimal(report.stats["total"])
    with translation.override("en"):
        shown = display_kg(total)
    assert "," in shown  # the demo's biggest report is over 1,000 kg
    assert shown in client.get(reverse("admin:carbon_carbonreport_change", args=[report.pk])).content.decode()
    assert shown in client.get(reverse("admin:carbon_carbonreport_changelist") + f"?q={report.unit.name}"
                               ).content.decode()


@pytest.mark.parametrize("who", [ADMIN, METIER])
def test_the_index_links_the_reporting_pages_for_metier_and_admin(client, demo, who):
    login(client, who)
    html = client.get("/admin/").content.decode()
    assert f'href="{reverse("reporting-progress")}"' in html and f'href="{reverse("reporting-exports")}"' in html


def test_an_auditor_gets_no_reporting_links(client, demo):
    client.force_login(user_with_roles("calco2.auditor@global"))
    html = client.get("/admin/").content.decode()
    assert 'id="reporting-tools"' not in html
