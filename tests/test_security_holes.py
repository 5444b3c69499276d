"""One test per hole found by the attack on the demo (issue "read-only means read-only"), items 2–5, 7 and 9.

Item 1 (writes through history version pages) is covered over every admin by test_admin_write_matrix.py.
"""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from carbon.models import Emission, ModuleReport
from modules.registry import KINDS
from tests.campaign import import_csv, write_csv
from tests.factories import UserFactory, user_with_roles
from units.admin_scoping import scoped_choices
from units.models import Unit
from units.scoping import Action

METIER = "calco2.backoffice.metier@affiliation:13030"
ADMIN = "calco2.backoffice.admin@global"
PROCESS = KINDS["process_emission"].model


@pytest.fixture
def entries(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n13032,CO2,1\n14011,CO2,2\n",
               "--year", "2025")
    return {"in": PROCESS.objects.get(module_report__report__unit__institutional_id="13032"),
            "out": PROCESS.objects.get(module_report__report__unit__institutional_id="14011")}


# --- 2. version pages are read-only for viewers, and every FK choice is scoped --------------------------
def test_a_viewer_sees_a_version_page_without_any_editable_field(client, entries):
    client.force_login(user_with_roles(METIER))
    entry = entries["in"]
    version = PROCESS.history.filter(id=entry.pk).latest("history_id")
    response = client.get(reverse("admin:modules_processemission_simple_history", args=[entry.pk, version.history_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<select" not in page and 'name="module_report"' not in page
    assert "STI-LAB" not in page  # nothing of another school, not even as an option
    assert client.post(response.request["PATH_INFO"], {"module_report": entries["out"].module_report_id,
                                                       "category": "CO2", "quantity": "99"}).status_code == 403
    entry.refresh_from_db()
    assert entry.module_report_id != entries["out"].module_report_id and entry.quantity == 1


def test_fk_choices_are_scoped_and_denied_for_models_without_a_rule(entries):
    def request_of(user):
        request = RequestFactory().get("/admin/")
        request.user = user
        return request

    metier, admin_user = user_with_roles(METIER), user_with_roles(ADMIN)
    in_enac = set(ModuleReport.objects.filter(report__unit__path_name__contains="ENAC").values_list("pk", flat=True))
    assert set(scoped_choices(request_of(metier), ModuleReport, Action.BROWSE).values_list("pk", flat=True)) == in_enac
    assert not scoped_choices(request_of(metier), ModuleReport, Action.MANAGE).exists()  # metier edits nothing
    assert scoped_choices(request_of(admin_user), ModuleReport, Action.MANAGE).count() == ModuleReport.objects.count()
    # Permission has no admin and no scoping rule: nobody gets it as a choice (deny by default).
    assert not scoped_choices(request_of(admin_user), Permission, Action.MANAGE).exists()


# --- 3. malformed and unknown ids are 404, never 500 -----------------------------------------------------
def test_malformed_ids_and_pages_without_history_answer_404(client, entries):
    client.force_login(user_with_roles(ADMIN))
    emission = Emission.objects.first()
    unit = Unit.objects.get(institutional_id="13032")
    history_id = Unit.history.filter(id=unit.pk).latest("history_id").history_id
    for path in ["/admin/units/unit/abc/change/", "/admin/units/unit/abc/delete/", "/admin/units/unit/abc/history/",
                 f"/admin/units/unit/{unit.pk}/history/abc/", f"/admin/units/unit/{unit.pk}/history/99999999/",
                 "/admin/carbon/emission/export/change/", f"/admin/carbon/emission/{emission.pk}/history/",
                 f"/admin/carbon/emission/{emission.pk}/history/1/", "/admin/carbon/emission/99999999/change/"]:
        assert client.get(path).status_code == 404, path
    assert client.get(f"/admin/units/unit/{unit.pk}/history/{history_id}/").status_code == 200


# --- 4. every file written for a spreadsheet neutralises formulas ----------------------------------------
FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_admin_exports_neutralise_formula_cells_in_every_format(client, entries):
    client.force_login(user_with_roles(ADMIN))
    unit = Unit.objects.get(institutional_id="13032")
    change = client.get(reverse("admin:units_unit_change", args=[unit.pk]))
    assert change.status_code == 200
    from tests.admin_forms import form_fields

    data = form_fields(change.content.decode())
    data["label_en"] = [FORMULA]
    assert client.post(reverse("admin:units_unit_change", args=[unit.pk]), data).status_code == 302
    unit.refresh_from_db()
    assert unit.label_en == FORMULA  # stored as typed: the neutralising happens on the way out
    formats = client.get(reverse("admin:units_unit_export")).context["form"].fields["format"].choices
    assert len(formats) >= 5
    for value, label in [(v, lbl) for v, lbl in formats if v != ""]:
        response = client.post(reverse("admin:units_unit_export"),
                               {"format": value, "resource": "0", "unitresource_name": "on",
                                "unitresource_label_en": "on"})
        body = response.content.decode("utf-8-sig")
        assert "HYPERLINK" in body, label
        assert not re.search(r"(^|[,\t\"'>: ])=HYPERLINK", body.replace("'=HYPERLINK", "")), (label, body[:300])


def test_results_export_neutralises_a_formula_in_a_unit_name(entries, tmp_path):
    Unit.objects.filter(institutional_id="13032").update(path_name="EPFL ENAC SG =cmd|' /C calc'!A0")
    out = tmp_path / "results.csv"
    call_command("export_report", "results", "--year", "2025", "--output", str(out))
    text = out.read_text(encoding="utf-8-sig")
    assert "EPFL ENAC SG =cmd" in text  # inside the cell, after text: harmless
    Unit.objects.filter(institutional_id="13032").update(path_name="=cmd|' /C calc'!A0")
    call_command("export_report", "results", "--year", "2025", "--output", str(out))
    text = out.read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and ",=cmd" not in text


# --- 5. a demo-password session ends with demo mode ---------------------------------------------------
def test_a_demo_session_stops_working_when_demo_mode_is_turned_off(client, tree, settings):
    settings.DEMO_MODE = True
    user = UserFactory(institutional_id="demo-x", provider="demo")
    user.set_password("demo")
    user.save()
    assert client.post(reverse("login"), {"username": "demo-x", "password": "demo"}).status_code == 302
    assert client.get("/api/v1/me/").status_code == 200
    settings.DEMO_MODE = False
    assert client.get("/api/v1/me/").status_code == 403
    assert client.get(reverse("lab:workspace")).status_code == 302  # back to the login page


def test_a_deactivated_user_is_signed_out_on_the_next_request(client, tree):
    user = user_with_roles("calco2.user.principal@unit:13032")
    client.force_login(user)
    assert client.get("/api/v1/me/").status_code == 200
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/me/").status_code == 403


# --- 7. password login is throttled per (user, address) ----------------------------------------------
def test_password_login_locks_out_after_repeated_failures(client, tree, settings):
    settings.DEMO_MODE = True
    user = UserFactory(institutional_id="demo-y", provider="demo")
    user.set_password("demo")
    user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT + 35):
        response = client.post(reverse("login"), {"username": "demo-y", "password": "wrong"})
        assert response.status_code in {200, 429}
    locked = client.post(reverse("login"), {"username": "demo-y", "password": "demo"})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert client.get("/api/v1/me/").status_code == 403
    # Another user from the same address is not locked out by someone else's failures.
    other = UserFactory(institutional_id="demo-z", provider="demo")
    other.set_password("demo")
    other.save()
    assert client.post(reverse("login"), {"username": "demo-z", "password": "demo"}).status_code == 302


# --- 9. an empty per-year file never wipes a campaign -------------------------------------------------
def test_a_per_year_file_without_data_rows_is_refused_and_changes_nothing(entries, tmp_path):
    path = write_csv(tmp_path, "empty.csv", "unit_institutional_id,category,quantity\n")
    before = (PROCESS.objects.count(), PROCESS.history.count())
    out = io.StringIO()
    with pytest.raises(Exception, match="nothing was written"):
        call_command("import_csv", "process_emission", str(path), "--year", "2025", stdout=out)
    assert "no data rows: nothing imported, the year's rows are unchanged" in out.getvalue()
    assert (PROCESS.objects.count(), PROCESS.history.count()) == before
    # Clearing the kind for the year is an explicit choice, and it is recorded in history.
    call_command("import_csv", "process_emission", str(path), "--year", "2025", "--allow-empty", stdout=io.StringIO())
    assert PROCESS.objects.count() == 0
    assert PROCESS.history.filter(history_type="-").count() == 2


def test_behind_a_proxy_the_lockout_is_per_client_address_not_per_proxy(client, tree, settings):
    settings.DEMO_MODE, settings.BEHIND_PROXY = True, True
    user = UserFactory(institutional_id="demo-w", provider="demo")
    user.set_password("demo")
    user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "demo-w", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.1")  # a spoofed first hop, our proxy's last
    locked = client.post(reverse("login"), {"username": "demo-w", "password": "demo"},
                         HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert locked.status_code == 429
    # Another client behind the same proxy signs in: the lockout names an address, not the proxy.
    other = client.post(reverse("login"), {"username": "demo-w", "password": "demo"},
                        HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 302
