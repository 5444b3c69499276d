"""Reading the back-office exports in tests: CSV, JSON, the detailed ZIP and the PDF's text."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal


def csv_rows(data: bytes | str) -> list[dict]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text)))


def zip_tables(data: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: csv_rows(archive.read(name)) for name in archive.namelist() if name.endswith(".csv")}


def zip_readme(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("README.txt").decode("utf-8")


def zip_total(data: bytes) -> Decimal:
    return sum((Decimal(row["kg_co2eq"]) for rows in zip_tables(data).values() for row in rows if row["kg_co2eq"]),
               Decimal(0))


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def unit_ids(data: bytes, fmt: str) -> set[str]:
    """The unit institutional ids an export's body names (every row of every file)."""
    if fmt == "csv":
        return {row["unit_institutional_id"] for row in csv_rows(data)}
    if fmt == "json":
        return {row["unit_institutional_id"] for row in json.loads(data)}
    if fmt == "zip":
        return {row["unit_institutional_id"] for rows in zip_tables(data).values() for row in rows}
    raise ValueError(fmt)
