"""Helpers for tests that import a small campaign through the real command line."""

from __future__ import annotations

from decimal import Decimal

from django.core.management import call_command
from django.db.models import Sum

from carbon.models import Emission


def write_csv(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_csv(tmp_path, kind: str, text: str, *args) -> None:
    path = write_csv(tmp_path, kind.replace(":", "_") + ".csv", text)
    call_command("import_csv", kind, str(path), *args)


def kg(**filters) -> Decimal:
    return Emission.objects.filter(**filters).aggregate(s=Sum("kg_co2eq"))["s"] or Decimal(0)
