"""Purchases and additional purchases: override-first factor resolution, currencies, categories, errors."""

import logging
from decimal import Decimal

import pytest
from django.core.management import CommandError

from carbon.models import Emission, ModuleReport
from carbon.taxonomy import EntryKind, Module
from factors.models import PurchaseFactor
from infra.csvio import CellError
from modules.purchases.kind import purchase_factors, resolve_purchase_factor
from modules.purchases.models import AdditionalPurchase, Purchase
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

SMOKE_FACTORS = (SAMPLES / "purchases_common_factors_smoke.csv").read_text()
HEADER = ("unit_institutional_id,purchase_category,name,total_spent_amount,currency,purchase_institutional_code,"
          "purchase_additional_code\n")
# Extra factors for the ambiguity rules (the smoke file has none).
AMBIGUOUS = ("eur,services,77000000,Two specific rows,AB1,0.3\neur,services,77000000,Two specific rows,AB2,0.4\n"
             "eur,services,88000000,Shared additional code,ZZ1,0.1\neur,services,88100000,Shared,ZZ1,0.2\n")


@pytest.fixture
def year_with_purchase_factors(year, tmp_path):
    import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS + AMBIGUOUS, "--year", "2025")
    return 2025


def smoke() -> str:
    return (SAMPLES / "purchases_common_smoke.csv").read_text().replace("{unit_institutional_id}", "13032")


def ef_of(name: str) -> str | None:
    entry = Purchase.objects.get(name=name)
    row = Emission.objects.filter(kind=EntryKind[entry.purchase_category], entry_id=entry.pk).first()
    return row and row.factor_values["ef_kg_co2eq_per_currency"]


def test_resolution_cases_8_4(tmp_path, year_with_purchase_factors, capsys):
    import_csv(tmp_path, "purchase", HEADER + "13032,,specific,200,eur,51100000,LA05\n"
                                              "13032,,average,200,eur,51100000,\n"
                                              "13032,,unknown additional,200,eur,51100000,NOPE\n"
                                              "13032,,only coded row,200,eur,91111500,\n"
                                              "13032,services,no factor,200,eur,99999999,\n"
                                              "13032,,lower case code,200,eur,51100000,la05\n", "--year", "2025")
    assert [ef_of(n) for n in ("specific", "average", "unknown additional", "only coded row", "no factor",
                               "lower case code")] == ["0.41000000", "0.45500000", "0.45500000", "0.21000000", None,
                                                       "0.41000000"]
    assert Purchase.objects.get(name="specific").kg_co2eq == Decimal("82")
    assert Purchase.objects.get(name="no factor").kg_co2eq is None
    assert ("row 5, column purchase_institutional_code: no purchase factor for code '99999999' in 2025: the row is "
            "kept without emission") in capsys.readouterr().out
    # The category comes from the resolved factor; the leaf and the kind follow it.
    specific = Purchase.objects.get(name="specific")
    row = Emission.objects.get(entry_id=specific.pk, kind=EntryKind.biological_chemical_gaseous_product)
    assert (specific.purchase_category, row.emission_type, row.scope) == ("biological_chemical_gaseous_product",
                                                                          90500, 3)
    assert Purchase.objects.get(name="only coded row").purchase_category == "services"


def test_resolution_rules_directly(year_with_purchase_factors):
    index = purchase_factors(2025)
    assert resolve_purchase_factor(index, "88000000", "ZZ1").ef_kg_co2eq_per_currency == Decimal("0.1")
    assert resolve_purchase_factor(index, "A", "").ef_kg_co2eq_per_currency == Decimal("0.9")
    assert resolve_purchase_factor(index, "99999999", "") is None
    with pytest.raises(CellError, match="purchase_additional_code 'ZZ1' has 2 factors and none of them is for "
                                        "purchase_institutional_code '99000000'"):
        resolve_purchase_factor(index, "99000000", "ZZ1")
    with pytest.raises(CellError, match=r"'77000000' has 2 factors \(AB1, AB2\) and no average row"):
        resolve_purchase_factor(index, "77000000", "")
    with pytest.raises(CellError, match="a value is required"):  # only an additional code: an error
        resolve_purchase_factor(index, "", "LA05")


def test_matrix_200_eur_at_0_5_is_100_and_the_category_comes_from_the_factor(tmp_path, year_with_purchase_factors):
    import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS + "eur,it_equipment,PIC-IT,IT smoke,,0.5\n",
               "--year", "2025")
    import_csv(tmp_path, "purchase", smoke(), "--year", "2025")
    assert sorted(Purchase.objects.values_list("purchase_category", "kg_co2eq")) == [
        ("it_equipment", Decimal("50")), ("it_equipment", Decimal("100"))]
    assert set(Emission.objects.values_list("kind", "emission_type")) == {(EntryKind.it_equipment, 90300)}
    module = ModuleReport.objects.get(report__unit__institutional_id="13032", report__year=2025,
                                      module=Module.purchase)
    assert module.stats["total"] == module.stats["scope3"] == "150.000000"


def test_smoke_file_without_a_factor_for_its_code_is_rejected(tmp_path, year_with_purchase_factors, capsys):
    """PIC-IT has no factor in the smoke factor file and the file has no category: the kind is unknown."""
    with pytest.raises(CommandError):
        import_csv(tmp_path, "purchase", smoke(), "--year", "2025")
    out = capsys.readouterr().out
    for row in (1, 2):
        assert (f"row {row}, column purchase_category: purchase_category is empty and no factor for code 'PIC-IT' "
                "tells it") in out
    assert not Purchase.objects.exists()


def test_currency_is_converted_to_the_factors_currency(tmp_path, year_with_purchase_factors):
    import_csv(tmp_path, "exchange_rates", "year,currency,units_per_eur\n2025,CHF,0.95\n2025,USD,1.10\n")
    import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS + "usd,services,US1,Dollar factor,,0.5\n",
               "--year", "2025")
    import_csv(tmp_path, "purchase", "unit_institutional_id,name,total_spent_amount,currency,"
                                     "purchase_institutional_code\n"
                                     "13032,chf to eur,95,chf,51100000\n"
                                     "13032,default chf,95,,51100000\n"
                                     "13032,chf to usd,95,CHF,US1\n"
                                     "13032,eur to usd,100,eur,US1\n", "--year", "2025")
    got = dict(Purchase.objects.values_list("name", "kg_co2eq"))
    assert got == {"chf to eur": Decimal("45.5"),  # 95 CHF = 100 EUR × 0.455
                   "default chf": Decimal("45.5"),
                   "chf to usd": Decimal("55"),  # 95 CHF = 100 EUR = 110 USD × 0.5
                   "eur to usd": Decimal("55")}
    assert Purchase.objects.get(name="default chf").currency == "CHF"
    row = Emission.objects.get(entry_id=Purchase.objects.get(name="chf to usd").pk)
    assert row.factor_values["units_per_eur"] == {"CHF": "0.9500000000", "USD": "1.1000000000"}


def test_a_missing_rate_is_a_row_error_at_import_and_no_emission_at_recompute(tmp_path, year_with_purchase_factors,
                                                                              capsys, caplog):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "purchase", HEADER + "13032,,x,100,gbp,51100000,\n", "--year", "2025")
    assert "row 1, column currency: no exchange rate for GBP in 2025" in capsys.readouterr().out
    assert not Purchase.objects.exists()
    # Same currency needs no rate; the factor then moves to a currency without a rate.
    import_csv(tmp_path, "purchase", HEADER + "13032,,x,100,eur,51100000,\n", "--year", "2025")
    assert kg() == Decimal("45.5")
    with caplog.at_level(logging.WARNING, logger="modules.purchases.kind"):
        import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS.replace("eur,biological_chemical_gaseous_product,"
                                                                       "51100000,Médicaments anti-infectieux,,",
                                                                       "sek,biological_chemical_gaseous_product,"
                                                                       "51100000,Médicaments anti-infectieux,,"),
                   "--year", "2025")
    assert Purchase.objects.get().kg_co2eq is None and not Emission.objects.exists()
    assert "no exchange rate for SEK in 2025" in caplog.text


def test_override_needs_a_category_but_no_factor(tmp_path, year_with_purchase_factors):
    import_csv(tmp_path, "purchase", HEADER.strip() + ",kg_co2eq\n13032,vehicles,van,100,gbp,99999999,,321.5\n",
               "--year", "2025")
    row = Emission.objects.get()
    assert (row.kind, row.emission_type, row.kg_co2eq, row.is_override) == (EntryKind.vehicles, 90700,
                                                                            Decimal("321.5"), True)


def test_reimport_changes_nothing_and_factor_reimport_recalculates(tmp_path, year_with_purchase_factors):
    text = HEADER + "13032,,a,200,eur,51100000,LA05\n13032,,b,100,eur,91111500,\n"
    import_csv(tmp_path, "purchase", text, "--year", "2025")
    import_csv(tmp_path, "purchase", text, "--year", "2025")
    assert Purchase.objects.count() == 2 and kg() == Decimal("103")  # 82 + 21
    import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS.replace(",LA05,0.41", ",LA05,0.82")
               .replace(",AA66,0.21", ",AA66,0.42"), "--year", "2025")
    assert kg() == Decimal("206")
    assert PurchaseFactor.objects.get(purchase_institutional_code="77000000", purchase_additional_code="AB1").is_stale


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("13032,,x,-1,eur,51100000,", "row 2, column total_spent_amount: must be ≥ 0 (got -1)"),
        ("13032,,x,abc,eur,51100000,", "row 2, column total_spent_amount: "),
        ("13032,,x,1,eur,,LA05", "row 2, column purchase_institutional_code: a value is required"),
        ("13032,food,x,1,eur,51100000,", "row 2, column purchase_category: 'food' is not one of"),
        ("13032,,x,1,euro,51100000,", "row 2, column currency: 'euro' is not a currency code"),
        ("13032,,x,1,eur,77000000,", "row 2, column purchase_institutional_code: purchase_institutional_code "
                                     "'77000000' has 2 factors"),
        ("13032,,,1,eur,51100000,", "row 2, column name: a value is required"),
        ("13032,,x,1,eur,51100000," + "A" * 33, "row 2, column purchase_additional_code: at most 32 characters "
                                                "(got 33)"),
    ],
    ids=["negative", "not-a-number", "no-code", "category", "currency", "ambiguous", "no-name", "too-long"],
)
def test_bad_input_writes_nothing(tmp_path, year_with_purchase_factors, capsys, row, message):
    import_csv(tmp_path, "purchase", HEADER + "13032,,kept,200,eur,51100000,LA05\n", "--year", "2025")
    with pytest.raises(CommandError):
        import_csv(tmp_path, "purchase", HEADER + "13032,,ok,1,eur,51100000,\n" + row + "\n", "--year", "2025")
    assert message in capsys.readouterr().out
    assert list(Purchase.objects.values_list("name", flat=True)) == ["kept"]
    assert kg() == Decimal("82")


def test_quantity_must_not_be_negative(tmp_path, year_with_purchase_factors, capsys):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "purchase", "unit_institutional_id,name,quantity,total_spent_amount,"
                                         "purchase_institutional_code\n13032,x,-2,1,A\n", "--year", "2025")
    assert "row 1, column quantity: must be ≥ 0 (got -2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("eur,services,51100000,dup,LA05,0.1\n", "row 12, column purchase_institutional_code: duplicate factor"),
        ("eur,food,1,x,,0.1\n", "row 12, column purchase_category: 'food' is not one of"),
        ("eur,services,1,x,,-0.1\n", "row 12, column ef_kg_co2eq_per_currency: must be ≥ 0"),
        ("eur,services,1," + "d" * 256 + ",,0.1\n", "row 12, column purchase_institutional_description: at most 255"),
    ],
    ids=["duplicate-case-insensitive", "category", "negative-ef", "too-long"],
)
def test_bad_factor_file_writes_nothing(tmp_path, year_with_purchase_factors, capsys, extra, message):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "factors:purchase", SMOKE_FACTORS + extra.replace("LA05", "la05"), "--year", "2025")
    assert message in capsys.readouterr().out
    assert PurchaseFactor.objects.count() == 15


def test_factor_codes_and_currency_are_stored_upper_case(year_with_purchase_factors):
    factor = PurchaseFactor.objects.get(purchase_institutional_code="51100000", purchase_additional_code="LA05")
    assert (factor.currency, factor.purchase_category) == ("EUR", "biological_chemical_gaseous_product")


# --------------------------------------------------------------------------------- additional purchases
ADDITIONAL_FACTORS = "name,ef_kg_co2eq_per_kg\nLiquid Nitrogen,0.2\nDry ice,1.5\n"


def test_additional_purchase_formula_and_leaves(tmp_path, year_with_purchase_factors):
    import_csv(tmp_path, "factors:additional_purchase", ADDITIONAL_FACTORS, "--year", "2025")
    import_csv(tmp_path, "additional_purchase", "unit_institutional_id,name,unit,annual_consumption,coef_to_kg\n"
                                                "13032,liquid  nitrogen,L,1000,0.8\n"
                                                "13032,Dry ice,kg,10,1\n", "--year", "2025")
    got = {(r.emission_type, r.kg_co2eq, r.scope) for r in Emission.objects.filter(kind=EntryKind.additional_purchase)}
    assert got == {(90901, Decimal("160"), 3), (90999, Decimal("15"), 3)}  # 1000 L × 0.8 kg/L × 0.2; 10 × 1.5
    import_csv(tmp_path, "factors:additional_purchase", ADDITIONAL_FACTORS.replace("0.2", "0.4"), "--year", "2025")
    assert kg(kind=EntryKind.additional_purchase) == Decimal("335")


def test_additional_purchase_template_unit_file_and_missing_factor(tmp_path, year_with_purchase_factors, capsys):
    import_csv(tmp_path, "additional_purchase", (SAMPLES / "purchases_additional_template.csv").read_text(),
               "--year", "2025", "--unit", "13032")
    assert "no additional_purchase factor for 'Liquid Nitrogen' in 2025" in capsys.readouterr().out
    import_csv(tmp_path, "factors:additional_purchase", ADDITIONAL_FACTORS, "--year", "2025")
    entry = AdditionalPurchase.objects.get()
    assert (entry.annual_consumption, entry.kg_co2eq) == (Decimal("0"), Decimal("0"))  # the template's 0 consumption
    assert Emission.objects.get().emission_type == 90901


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("13032,LN2,L,-1,0.8", "row 1, column annual_consumption: must be ≥ 0 (got -1)"),
        ("13032,LN2,L,1,-0.8", "row 1, column coef_to_kg: must be ≥ 0 (got -0.8)"),
        ("13032,LN2,,1,0.8", "row 1, column unit: a value is required"),
    ],
    ids=["consumption", "coef", "unit"],
)
def test_additional_purchase_bad_input(tmp_path, year_with_purchase_factors, capsys, row, message):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "additional_purchase",
                   "unit_institutional_id,name,unit,annual_consumption,coef_to_kg\n" + row + "\n", "--year", "2025")
    assert message in capsys.readouterr().out
    assert not AdditionalPurchase.objects.exists()


def test_per_year_purchase_file_leaves_additional_purchases_alone(tmp_path, year_with_purchase_factors):
    import_csv(tmp_path, "factors:additional_purchase", ADDITIONAL_FACTORS, "--year", "2025")
    import_csv(tmp_path, "additional_purchase", "unit_institutional_id,name,unit,annual_consumption,coef_to_kg\n"
                                                "13032,Dry ice,kg,10,1\n", "--year", "2025")
    import_csv(tmp_path, "purchase", HEADER + "13032,,a,200,eur,51100000,LA05\n", "--year", "2025")
    import_csv(tmp_path, "purchase", HEADER + "13032,,a,100,eur,51100000,LA05\n", "--year", "2025")
    assert kg() == Decimal("56")  # 15 + 41
    assert AdditionalPurchase.objects.count() == 1 and Purchase.objects.count() == 1
