"""External cloud and AI: worked examples, provider matching and leaves, currencies, templates, errors."""

from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db import IntegrityError, transaction

from carbon.models import Emission, ModuleReport
from carbon.taxonomy import EntryKind, Module
from infra.csvio import ColumnSpec, read_csv
from infra.importing import template_row_reason
from modules.external.kind import ai_kg
from modules.external.models import ExternalAI, ExternalCloud
from modules.registry import KINDS
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

CLOUD_FACTORS = ("service_type,provider,currency,ef_kg_co2eq_per_currency\n"
                 "compute,AWS,eur,0.05\nstorage,AWS,eur,0.01\nstorage,GCP,usd,0.02\nvirtualization,OVH,chf,0.1\n")
AI_PROVIDERS = ("Gemini (Google)", "Mistral AI", "Claude (Anthropic)", "ChatGPT (OpenAI)", "Copilot (Microsoft)")
AI_FACTORS = "provider,usage_type,ef_kg_co2eq_per_request\n" + "".join(f'"{p}",text,1\n' for p in AI_PROVIDERS)
AI_HEADER = "unit_institutional_id,provider,usage_type,requests_per_user_per_day,fte_count\n"


@pytest.fixture
def year_with_external_factors(year, tmp_path):
    import_csv(tmp_path, "factors:external_cloud", CLOUD_FACTORS, "--year", "2025")
    import_csv(tmp_path, "factors:external_ai", AI_FACTORS, "--year", "2025")
    return 2025


def cloud_smoke() -> str:
    return (SAMPLES / "external_clouds_smoke.csv").read_text().replace("{unit_institutional_id}", "13032")


# ------------------------------------------------------------------------------------------- cloud
def test_cloud_worked_example_8_3(tmp_path, year_with_external_factors, tree):
    import_csv(tmp_path, "external_cloud", cloud_smoke(), "--year", "2025")
    assert sorted(ExternalCloud.objects.values_list("kg_co2eq", flat=True)) == [Decimal("5"), Decimal("10")]
    assert set(Emission.objects.values_list("kind", "emission_type", "scope", "unit_id")) == {
        (EntryKind.external_cloud, 110102, 3, tree["it4r"].pk)}
    module = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025,
                                      module=Module.external_cloud_and_ai)
    assert module.stats["total"] == "15.000000"


def test_cloud_provider_is_matched_case_insensitively_and_service_types_have_their_leaves(tmp_path,
                                                                                          year_with_external_factors):
    import_csv(tmp_path, "exchange_rates", "year,currency,units_per_eur\n2025,USD,1.25\n2025,CHF,0.8\n")
    import_csv(tmp_path, "external_cloud", "unit_institutional_id,service_type,provider,spent_amount,currency\n"
                                           "13032,Storage, aws ,100,\n"
                                           "13032,stockage,GCP,100,eur\n"
                                           "13032,virtualisation,ovh,100,usd\n", "--year", "2025")
    got = {(r.emission_type, r.kg_co2eq) for r in Emission.objects.all()}
    assert got == {(110103, Decimal("1")),  # 100 EUR × 0.01
                   (110103, Decimal("2.5")),  # 100 EUR = 125 USD × 0.02
                   (110101, Decimal("6.4"))}  # 100 USD = 80 EUR = 64 CHF × 0.1
    assert set(ExternalCloud.objects.values_list("service_type", "currency")) == {
        ("storage", "EUR"), ("virtualisation", "USD")}


def test_cloud_missing_rate_and_missing_factor(tmp_path, year_with_external_factors, capsys):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "external_cloud", "unit_institutional_id,service_type,provider,spent_amount,currency\n"
                                               "13032,storage,GCP,100,eur\n", "--year", "2025")
    assert "row 1, column currency: no exchange rate for USD in 2025" in capsys.readouterr().out
    import_csv(tmp_path, "external_cloud", "unit_institutional_id,service_type,provider,spent_amount\n"
                                           "13032,compute,Huawei,100\n", "--year", "2025")
    assert ("row 1, column provider: no external_cloud factor for (compute, Huawei) in 2025: the row is kept "
            "without emission") in capsys.readouterr().out
    assert ExternalCloud.objects.get().kg_co2eq is None


def test_cloud_reimport_changes_nothing_and_factor_reimport_recalculates(tmp_path, year_with_external_factors):
    import_csv(tmp_path, "external_cloud", cloud_smoke(), "--year", "2025")
    import_csv(tmp_path, "external_cloud", cloud_smoke(), "--year", "2025")
    assert ExternalCloud.objects.count() == 2 and kg() == Decimal("15")
    import_csv(tmp_path, "factors:external_cloud", CLOUD_FACTORS.replace("0.05", "0.1"), "--year", "2025")
    assert kg() == Decimal("30")


def test_cloud_override(tmp_path, year_with_external_factors):
    import_csv(tmp_path, "external_cloud", "unit_institutional_id,service_type,provider,spent_amount,kg_co2eq\n"
                                           "13032,storage,Nowhere,1,7.25\n", "--year", "2025")
    row = Emission.objects.get()
    assert (row.emission_type, row.kg_co2eq, row.is_override, row.factor_id) == (110103, Decimal("7.25"), True, None)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("13032,gpu,AWS,1,eur", "row 2, column service_type: 'gpu' is not one of: storage, compute, virtualisation"),
        ("13032,compute,AWS,-1,eur", "row 2, column spent_amount: must be ≥ 0 (got -1)"),
        ("13032,compute,AWS,1,euros", "row 2, column currency: 'euros' is not a currency code"),
        ("13032,compute,,1,eur", "row 2, column provider: a value is required"),
    ],
    ids=["service", "negative", "currency", "provider"],
)
def test_cloud_bad_input_writes_nothing(tmp_path, year_with_external_factors, capsys, row, message):
    import_csv(tmp_path, "external_cloud", cloud_smoke(), "--year", "2025")
    header = "unit_institutional_id,service_type,provider,spent_amount,currency\n"
    with pytest.raises(CommandError):
        import_csv(tmp_path, "external_cloud", header + "13032,compute,AWS,1,eur\n" + row + "\n", "--year", "2025")
    assert message in capsys.readouterr().out
    assert ExternalCloud.objects.count() == 2 and kg() == Decimal("15")


def test_cloud_template_scaffold_rows_are_skipped_with_a_warning(tmp_path, year_with_external_factors, capsys):
    """Scaffold rows (a provider, no amount) are skipped with a warning; real errors still fail the file."""
    template = (SAMPLES / "external_clouds_template.csv").read_text()
    with pytest.raises(CommandError):
        import_csv(tmp_path, "external_cloud", template, "--year", "2025", "--unit", "13032")
    out = capsys.readouterr().out
    assert all(f"warning: row {n}: row skipped: a template row: no spent_amount" in out for n in range(3, 13))
    # GCP's factor is in USD and there is no USD rate for 2025: that row is an error.
    assert "row 2, column currency: no exchange rate for USD in 2025" in out
    assert not ExternalCloud.objects.exists()
    import_csv(tmp_path, "external_cloud", template, "--year", "2025", "--unit", "13032", "--skip-invalid")
    assert list(ExternalCloud.objects.values_list("provider", "kg_co2eq")) == [("AWS", Decimal("61.92"))]


def template_rows(name: str, kind: str) -> list[dict]:
    spec = KINDS[kind]
    columns = [*spec.columns, ColumnSpec("kg_co2eq"), ColumnSpec("unit_institutional_id")]
    return [row.values for row in read_csv(SAMPLES / name, columns=columns)]


def scaffold_reason(kind: str, values: dict, header: tuple[str, ...] | None = None) -> str | None:
    """The import's one template-row rule (infra.importing), as the entry importer applies it to `kind`."""
    spec = KINDS[kind]
    header = header or tuple(name for name in values if name in {c.name for c in spec.columns})
    return template_row_reason(values, header=header, measured=(*spec.measured, "kg_co2eq"),
                               required=[c.name for c in spec.columns if c.required])


def test_scaffold_rows_of_the_templates_are_recognised():
    cloud_header = ("service_type", "provider", "spent_amount", "currency", "note")
    cloud = [scaffold_reason("external_cloud", v, cloud_header)
             for v in template_rows("external_clouds_template.csv", "external_cloud")]
    assert cloud == [None, None] + ["a template row: no spent_amount (fill it in to import the row)"] * 10
    ai_header = ("provider", "usage_type", "requests_per_user_per_day", "fte_count", "note")
    ai = [scaffold_reason("external_ai", v, ai_header)
          for v in template_rows("external_ai_template.csv", "external_ai")]
    assert ai == [None] * 4 + [
        "a template row: no requests_per_user_per_day, fte_count (fill it in to import the row)"] * 15
    # A half-filled row is not a scaffold: it stays an error.
    assert scaffold_reason("external_ai", {"provider": "Mistral AI", "usage_type": "text", "fte_count": "1",
                                           "requests_per_user_per_day": ""}) is None


def test_cloud_and_ai_declare_creator_ownership():
    # Pins the registry declaration only: no code reads `owner_field`/`standard_editable` yet; the lab app's
    # write path for standard users will. Replace it with a behaviour test then.
    for name in ("external_cloud", "external_ai"):
        assert (KINDS[name].owner_field, KINDS[name].standard_editable) == (None, True)


# ---------------------------------------------------------------------------------------------- AI
def test_ai_worked_example_8_13_one_row_in_the_provider_leaf(tmp_path, year_with_external_factors):
    import_csv(tmp_path, "factors:external_ai", AI_FACTORS.replace(",1\n", ",0.01\n"), "--year", "2025")
    import_csv(tmp_path, "external_ai", AI_HEADER + '13032,"ChatGPT (OpenAI)",text,5_20,1.0\n', "--year", "2025")
    row = Emission.objects.get()
    assert (row.kind, row.emission_type, row.scope, row.kg_co2eq) == (EntryKind.external_ai, 110204, 3,
                                                                      Decimal("0.02875"))
    assert ai_kg("5_20", Decimal("1.0"), Decimal("0.01")) == Decimal("0.02875")


def test_ai_template_imports_its_filled_rows_and_skips_the_scaffold(tmp_path, year_with_external_factors, capsys):
    template = (SAMPLES / "external_ai_template.csv").read_text()
    import_csv(tmp_path, "external_ai", template, "--year", "2025", "--unit", "13032")
    out = capsys.readouterr().out
    assert "warning: row 5: row skipped: a template row: no requests_per_user_per_day, fte_count" in out
    assert "warning: row 19: row skipped" in out
    assert ExternalAI.objects.count() == 4
    got = {(r.emission_type, r.kg_co2eq) for r in Emission.objects.all()}
    assert got == {(110201, Decimal("0.552")),  # google: 3 × 5 × 46 × 0.8 × 1 g / 1000
                   (110202, Decimal("8.625")),  # mistral_ai: 12.5 × 230 × 3
                   (110203, Decimal("69")),  # anthropic: 60 × 230 × 5
                   (110204, Decimal("18.4"))}  # openai: 100 × 230 × 0.8


def test_ai_factor_lookup_is_exact_on_the_trimmed_provider_but_the_leaf_is_by_keyword(tmp_path,
                                                                                      year_with_external_factors,
                                                                                      capsys):
    import_csv(tmp_path, "external_ai", AI_HEADER + '13032," chatgpt (openai) ",TEXT,1_5,1\n'
                                                    "13032,OpenAI,text,1_5,1\n"
                                                    '13032,"Copilot (Microsoft)",text,gt_100,1\n', "--year", "2025")
    assert ("row 2, column provider: no external_ai factor for (OpenAI, text) in 2025: the row is kept without "
            "emission") in capsys.readouterr().out
    got = {(e.provider, e.kg_co2eq) for e in ExternalAI.objects.all()}
    assert got == {("chatgpt (openai)", Decimal("0.69")), ("OpenAI", None), ("Copilot (Microsoft)", Decimal("23"))}
    assert set(Emission.objects.values_list("emission_type", flat=True)) == {110204, 110206}  # openai, others


def test_ai_factor_reimport_recalculates_and_override(tmp_path, year_with_external_factors):
    import_csv(tmp_path, "external_ai", AI_HEADER + "13032,Mistral AI,text,5_20,3\n", "--year", "2025")
    import_csv(tmp_path, "factors:external_ai", AI_FACTORS.replace(",1\n", ",2\n"), "--year", "2025")
    assert kg() == Decimal("17.25")
    import_csv(tmp_path, "external_ai", AI_HEADER.strip() + ",kg_co2eq\n13032,Claude,code,1_5,1,4.5\n",
               "--year", "2025")
    row = Emission.objects.get()
    assert (row.emission_type, row.kg_co2eq, row.is_override) == (110203, Decimal("4.5"), True)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("13032,Mistral AI,text,2_3,1", "row 2, column requests_per_user_per_day: '2_3' is not one of: 1_5, 5_20, "
                                        "20_100, gt_100"),
        ("13032,Mistral AI,text,1_5,0.05", "row 2, column fte_count: must be ≥ 0.1 (got 0.05)"),
        ("13032,Mistral AI,text,1_5,", "row 2, column fte_count: a value is required"),
        ("13032,Mistral AI,,1_5,1", "row 2, column usage_type: a value is required"),
    ],
    ids=["bucket", "fte", "no-fte", "no-usage"],
)
def test_ai_bad_input_writes_nothing(tmp_path, year_with_external_factors, capsys, row, message):
    import_csv(tmp_path, "external_ai", AI_HEADER + "13032,Mistral AI,text,5_20,3\n", "--year", "2025")
    with pytest.raises(CommandError):
        import_csv(tmp_path, "external_ai", AI_HEADER + "13032,Mistral AI,text,1_5,1\n" + row + "\n",
                   "--year", "2025")
    assert message in capsys.readouterr().out
    assert ExternalAI.objects.count() == 1 and kg() == Decimal("8.625")


def test_database_holds_the_ai_and_cloud_rules(year_with_external_factors, tree):
    module_report = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025,
                                             module=Module.external_cloud_and_ai)
    ai = {"module_report": module_report, "provider": "Mistral AI", "usage_type": "text",
          "requests_per_user_per_day": "1_5", "fte_count": Decimal("1")}
    for bad in ({"requests_per_user_per_day": "2_3"}, {"fte_count": Decimal("0.05")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ExternalAI.objects.create(**{**ai, **bad})
    cloud = {"module_report": module_report, "service_type": "compute", "provider": "AWS", "spent_amount": 1}
    for bad in ({"service_type": "gpu"}, {"spent_amount": -1}, {"currency": "eur"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ExternalCloud.objects.create(**{**cloud, **bad})
    ExternalAI.objects.create(**ai)
    ExternalCloud.objects.create(**cloud)
