"""One rule set for a CSV row and a JSON body: the same bad value is refused by the unit-file import and by
the API, with the same message on the same column (the API reuses the import's row rules)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from carbon.models import YearConfiguration
from modules.registry import KINDS
from tests.factories import user_with_roles

pytestmark = pytest.mark.django_db
CF = "13032"

# (kind, a row with one bad cell, the bad column) — a valid row of the kind with that one cell spoilt.
CASES = [
    ("plane", {"origin_iata": "GVA", "destination_iata": "CDG", "user_institutional_id": "1", "cabin_class": "coach"},
     "cabin_class"),
    ("plane", {"origin_iata": "GVA", "destination_iata": "CDG", "user_institutional_id": "1", "cabin_class": "eco",
               "departure_date": "31/02/2025"}, "departure_date"),
    ("plane", {"origin_iata": "GVA", "destination_iata": "CDG", "user_institutional_id": "1", "cabin_class": "eco",
               "number_of_trips": "0"}, "number_of_trips"),
    ("train", {"origin_name": "Lausanne", "origin_country_code": "Switzerland", "destination_name": "Bern",
               "destination_country_code": "CH", "user_institutional_id": "1", "cabin_class": "second"},
     "origin_country_code"),
    ("external_cloud", {"service_type": "storage", "provider": "AWS", "spent_amount": "-1", "currency": "eur"},
     "spent_amount"),
    ("external_cloud", {"service_type": "gpu", "provider": "AWS", "spent_amount": "10", "currency": "eur"},
     "service_type"),
    ("member", {"name": "A", "sius_code": "51", "user_institutional_id": "1", "fte": "1.5"}, "fte"),
    ("member", {"name": "A", "sius_code": "99", "user_institutional_id": "1", "fte": "1"}, "sius_code"),
    ("process_emission", {"category": "CO2", "quantity": "12,5"}, "quantity"),
    ("equipment", {"equipment_category": "it", "equipment_id": "B1", "name": "Screen", "equipment_class": "Monitors",
                   "active_usage_hours_per_week": "200"}, "active_usage_hours_per_week"),
    ("purchase", {"purchase_category": "services", "name": "x", "total_spent_amount": "1e400", "currency": "chf",
                  "purchase_institutional_code": "A"}, "total_spent_amount"),
    ("building_room", {"building_name": "CM", "room_name": "CM 1 1", "room_type": "kitchen"}, "room_type"),
    ("student", {"fte": "-2"}, "fte"),
    ("process_emission", {"category": "CO2", "quantity": "1", "kg_co2eq": "-3"}, "kg_co2eq"),
]


@pytest.fixture
def principal(year):
    YearConfiguration.objects.filter(year=2025).update(is_started=True)
    return user_with_roles(f"calco2.user.principal@unit:{CF}")


def csv_message(kind: str, cells: dict, column: str, tmp_path, capsys) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(cells))
    writer.writeheader()
    writer.writerow(cells)
    path = tmp_path / f"{kind}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_csv", kind, str(path), "--year", "2025", "--unit", CF)
    printed = capsys.readouterr().out
    found = re.search(rf"row 1, column {column}: (.*)", printed)
    assert found, printed
    return found.group(1).strip()


@pytest.mark.parametrize("kind, cells, column", CASES, ids=[f"{k}-{c}" for k, _, c in CASES])
def test_the_csv_import_and_the_api_refuse_a_bad_value_alike(client, principal, tmp_path, capsys, kind, cells,
                                                              column):
    spec = KINDS[kind]
    expected = csv_message(kind, cells, column, tmp_path, capsys)
    client.force_login(principal)
    response = client.post(f"/api/v1/units/{CF}/years/2025/entries/{kind}/", cells, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][column] == [expected]
    assert not spec.model.objects.exists()


def test_the_cases_cover_every_kind_a_lab_enters():
    assert {kind for kind, _, _ in CASES} >= {name for name in KINDS if name not in (
        "energy_combustion", "external_ai", "research_facility", "animal_facility", "additional_purchase",
        "toy_widget")}
