"""Serializers of the lab API. One factory serves every entry kind of the registry: its fields are the
kind's CSV columns, and its validation is the import's (modules.rows), so a JSON body and a CSV row are
refused for the same values with the same messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from infra.csvio import NUL_NOT_ALLOWED
from modules.base import EntrySource
from modules.registry import KINDS, EntryKindSpec
from modules.rows import OVERRIDE_COLUMN, EntryInvalid, entry_cells, single_row_values

__all__ = ["CellField", "entry_serializer", "invalid_as_field_errors"]

NON_FIELD = "non_field_errors"


@extend_schema_field(OpenApiTypes.STR)
class CellField(serializers.Field):
    """One cell of the CSV contract. In: a text or a number (as a CSV cell would hold it), null = empty.
    Out: the stored value, numbers as decimal strings (exact), dates in ISO 8601."""

    default_error_messages = {"type": "a text or a number is expected",
                              "nul": NUL_NOT_ALLOWED}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int, float, Decimal)):
            self.fail("type")
        if isinstance(data, str) and "\x00" in data:
            self.fail("nul")
        return data if isinstance(data, str) else format(Decimal(str(data)), "f")

    def validate_empty_values(self, data):
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_representation(self, value):
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, int) and not isinstance(value, bool):  # sius_code, number_of_trips: a text too
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        return value


def invalid_as_field_errors(exc: EntryInvalid) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(error.column or NON_FIELD, []).append(error.reason)
    return errors


class EntrySerializerBase(serializers.Serializer):
    """What every entry shows besides its columns. Context: `access` (LabAccess), `year`, `thresholds`
    ({entry kind id: kg}), and for a partial update the instance."""

    spec: EntryKindSpec  # set by the factory

    id = serializers.IntegerField(read_only=True)
    kg_co2eq_override = serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True, allow_null=True,
                                                 help_text="The imported or typed total, when the row has one.")
    source = serializers.SerializerMethodField(help_text="Where the row came from.")
    source_label = serializers.SerializerMethodField()
    editable = serializers.SerializerMethodField(help_text="May the caller change or delete this row.")
    above_threshold = serializers.SerializerMethodField(
        help_text="Above its submodule's threshold (no threshold set: never).")
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_source(self, entry) -> str:
        return EntrySource(entry.source).name.lower()

    def get_source_label(self, entry) -> str:
        return str(EntrySource(entry.source).label)

    def get_editable(self, entry) -> bool:
        return bool(self.context["access"].may_change(self.spec, entry))

    def get_above_threshold(self, entry) -> bool:
        threshold = self.context.get("thresholds", {}).get(self.spec.entry_kind(entry).value)
        return threshold is not None and entry.kg_co2eq is not None and entry.kg_co2eq > threshold

    def get_created_by(self, entry) -> str | None:
        user = entry.created_by
        return None if user is None else (user.display_name or user.institutional_id)

    def validate(self, attrs: dict) -> dict:
        """The import's rules on the row this body makes (over the entry's current cells for a PATCH)."""
        cells = {**(entry_cells(self.spec, self.instance) if self.instance is not None else {}), **attrs}
        access, year = self.context["access"], self.context["year"]
        try:
            _, self.warnings = single_row_values(self.spec, cells, unit=access.unit, year=year,
                                                 replacing=getattr(self.instance, "pk", None))
        except EntryInvalid as exc:
            raise serializers.ValidationError(invalid_as_field_errors(exc)) from None
        return attrs


@cache
def entry_serializer(name: str) -> type[EntrySerializerBase]:
    """The serializer of one entry kind: its columns as cells, then the common read-only fields."""
    spec = KINDS[name]
    fields = {column.name: CellField(help_text=f"CSV column {column.name}" + (" (required)" if column.required
                                                                                  else ""))
              for column in spec.columns}
    override_help = ("Read: the row's total in kg CO2-eq (computed, or the override). Write: an override of the "
                     "total, as the CSV's kg_co2eq column." if spec.override_leaf else
                     "The row's total in kg CO2-eq (read-only: this kind has several emission leaves per row).")
    fields[OVERRIDE_COLUMN] = CellField(help_text=override_help)
    camel = "".join(part.title() for part in name.split("_"))
    return type(f"{camel}EntrySerializer", (EntrySerializerBase,), {**fields, "spec": spec,
                                                                     "__doc__": f"An entry of kind {name}."})
