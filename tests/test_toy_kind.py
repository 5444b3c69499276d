"""A new entry kind is its own package plus a migration. The toy kind (tests/toy_kind, installed by the
suite's settings only) declares itself there and nowhere else, and every surface generated from the
registry picks it up: the import command, the campaign view, the admin and its export, the results export.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from carbon import taxonomy
from carbon.models import Emission, SubmoduleSetting
from modules.registry import KINDS, load_order
from tests.campaign import import_csv
from tests.factories import user_with_roles
from tests.toy_kind.kind import TOY_WIDGET
from tests.toy_kind.models import ToyWidget

pytestmark = pytest.mark.django_db
ADMIN = "calco2.backoffice.admin@global"
FILE = "unit_institutional_id,widget_name,count,note\n13032,sprocket,4,\n13032,gizmo,0.5,spare\n14011,sprocket,10,\n"


@pytest.fixture
def widgets(year, tmp_path):
    import_csv(tmp_path, "toy_widget", FILE, "--year", "2025")


def test_the_toy_kind_is_in_the_registry_the_catalogue_and_the_load_order():
    assert KINDS["toy_widget"].kinds == (TOY_WIDGET,)
    assert taxonomy.entry_kind(990) is TOY_WIDGET and TOY_WIDGET in taxonomy.entry_kinds_of("purchase")
    assert "toy_widget" in [spec.name for spec in load_order()]
    assert (990, "Toy widgets") in taxonomy.entry_kind_choices()


def test_the_import_command_writes_and_computes_it(widgets):
    assert sorted(ToyWidget.objects.values_list("widget_name", "count")) == [
        ("gizmo", Decimal("0.500")), ("sprocket", Decimal("4.000")), ("sprocket", Decimal("10.000"))]
    rows = Emission.objects.filter(kind=990)
    assert sorted(rows.values_list("unit__institutional_id", "kg_co2eq")) == [
        ("13032", Decimal("1.25")), ("13032", Decimal("10")), ("14011", Decimal("25"))]
    assert set(rows.values_list("emission_type", "scope", "module")) == {(90800, 3, 5)}


def test_a_bad_row_names_its_column_and_writes_nothing(year, tmp_path, capsys):
    with pytest.raises(CommandError, match="nothing was written"):
        import_csv(tmp_path, "toy_widget", FILE.replace("gizmo,0.5", "gizmo,lots"), "--year", "2025")
    assert "row 2, column count: 'lots' is not a number" in capsys.readouterr().out
    assert not ToyWidget.objects.exists()


def test_the_campaign_view_has_its_submodule_card(client, year):
    assert SubmoduleSetting.objects.filter(year=2025, kind=990).exists()  # created with the year
    client.force_login(user_with_roles(ADMIN))
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2025])).content.decode()
    assert "Toy widgets" in page


def test_the_admin_lists_and_exports_it(client, widgets):
    client.force_login(user_with_roles(ADMIN))
    listing = client.get(reverse("admin:toy_kind_toywidget_changelist")).content.decode()
    assert "sprocket" in listing and "gizmo" in listing
    response = client.post(reverse("admin:toy_kind_toywidget_export"),
                           {"format": "0", "resource": "0", "toywidgetresource_widget_name": "on",
                            "toywidgetresource_count": "on"})
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and "gizmo" in body and "sprocket" in body


def test_the_results_export_counts_it_under_its_category(widgets):
    out = io.StringIO()
    call_command("export_report", "results", "--year", "2025", stdout=out)
    rows = {row["unit_institutional_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert Decimal(rows["13032"]["purchases"]) == Decimal("11.25") == Decimal(rows["13032"]["total"])
    assert Decimal(rows["14011"]["purchases"]) == Decimal("25")
