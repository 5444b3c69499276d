"""The PDF exports (reportlab): their text carries the same totals as the results export, and their first page
renders to a non-blank PNG. Plus the issue's "done when": an admin downloads results, detailed, combined and the
PDF for ENAC from the admin, with totals that agree.

`demo` (conftest): the demo loaded once for this module, each test rolled back to it.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.management import call_command
from django.urls import reverse

from reporting.exports import ReportFilters, build_export
from tests.exports_helpers import csv_rows, pdf_text, zip_total
from tests.factories import user_with_roles


def _pdf(**query) -> bytes:
    return b"".join(build_export("results", "pdf", ReportFilters.from_query({"year": "2025", **query}, None)).chunks)


def _results(**query) -> dict[str, dict]:
    data = b"".join(build_export("results", "csv", ReportFilters.from_query({"year": "2025", **query}, None)).chunks)
    return {row["unit_institutional_id"]: row for row in csv_rows(data)}


def _first_page_png(data: bytes, path) -> None:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    assert len(document) >= 1
    image = document[0].render(scale=1).to_pil().convert("L")
    image.save(path)
    histogram = image.histogram()
    dark = sum(histogram[:128])  # text and bars
    assert dark > 0.01 * image.width * image.height, "the first page is blank"
    assert histogram[255] > 0.3 * image.width * image.height  # and mostly paper


def test_the_back_office_pdf_has_the_results_totals(demo, tmp_path):
    data = _pdf(unit="13030")
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    rows = _results(unit="13030")
    enac = rows["13030"]
    assert enac["total"] == "168834.667033"
    assert enac["total"] in text and enac["total_validated"] in text
    for cf, row in rows.items():  # one line per unit, with the results export's kg
        assert f"({cf})" in text and row["total"] in text, cf
    assert "(14000)" not in text  # nothing outside the filter
    assert "all data" in text and "validated modules only" in text  # both totals, each labelled
    _first_page_png(data, tmp_path / "report.png")


def test_a_labs_pdf_is_its_results_page(demo, tmp_path):
    data = _pdf(unit="13032")
    text = pdf_text(data)
    it4r = _results(unit="13032")["13032"]
    assert "Results of IT4R (13032), 2025" in text
    assert it4r["total_validated"] == "8302.922175" and it4r["total_validated"] in text
    assert it4r["professional_travel"] in text  # a validated category, exactly as exported
    assert "Validate Buildings to see its results." in text  # not validated: hidden, said so
    _first_page_png(data, tmp_path / "lab.png")


def test_the_command_writes_a_pdf(demo, tmp_path):
    path = tmp_path / "combined.pdf"
    call_command("export_report", "combined", "--year", "2025", "--format", "pdf", "--output", str(path),
                 stderr=io.StringIO())
    text = pdf_text(path.read_bytes())
    assert "416419.472497" in text and "25881.798575" in text  # the institution: all data, validated


def test_an_admin_downloads_enac_from_the_admin_and_the_totals_agree(demo, client):
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))

    def download(name, fmt):
        response = client.get(reverse("reporting-export", args=[name, fmt]), {"year": "2025", "unit": "13030"})
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="')
        return b"".join(response.streaming_content)

    results = {r["unit_institutional_id"]: r for r in csv_rows(download("results", "csv"))}
    total = results["13030"]["total"]
    assert zip_total(download("detailed", "zip")) == Decimal(total)
    combined = csv_rows(download("combined", "csv"))
    assert sum(Decimal(r["kg_co2eq"]) for r in combined if r["unit_institutional_id"] == "13030") == Decimal(total)
    assert total in pdf_text(download("results", "pdf"))
