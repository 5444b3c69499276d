"""DRF output serializers of the lab results (`reporting.results.unit_results`), read-only.

Numbers are JSON strings with a fixed number of decimals, rounded half up (never banker's rounding),
so that a client never meets float noise and the OpenAPI schema says exactly what comes:

| figure                          | decimals | e.g.        |
|---------------------------------|----------|-------------|
| kg CO2-eq (`kg`, `*_kg`)        | 3        | "28700.000" (the gram) |
| tonnes CO2-eq (`t`, `*_t`)      | 3        | "28.700"    (the kg)   |
| change in % (`change_percent`)  | 2        | "-16.67"    |
| FTE                             | 3        | "120.000"   |
| car-km equivalent (`car_km`)    | 0        | "168824"    (whole km) |
| car-km factor (kg CO2-eq / km)  | 4        | "0.1700"    |

A figure that cannot be computed is `null`, never "0": `total_kg` when no module is validated, a module's
`kg` when it is not validated, `change_percent` when the previous year has no value above 0, the per-FTE
figures when headcount is not validated or its FTE is 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP

from rest_framework import serializers

from carbon.models import ModuleStatus
from carbon.taxonomy import Module
from reporting.results import status_name

__all__ = ["CategoryResultSerializer", "MissingModuleSerializer", "ModuleResultSerializer",
           "ScopeResultSerializer", "UnitResultsSerializer"]


class FixedDecimalField(serializers.DecimalField):
    """A read-only decimal rendered as a string with exactly `decimal_places` decimals, half up; no "-0.00"."""

    def __init__(self, decimal_places: int, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(max_digits=None, decimal_places=decimal_places, coerce_to_string=True,
                         rounding=ROUND_HALF_UP, **kwargs)

    def quantize(self, value):
        quantized = super().quantize(value)
        return quantized.copy_abs() if quantized.is_zero() else quantized


class Kg(FixedDecimalField):
    def __init__(self, **kwargs):
        super().__init__(3, **kwargs)


class Tonnes(FixedDecimalField):
    def __init__(self, **kwargs):
        super().__init__(3, **kwargs)


class Percent(FixedDecimalField):
    def __init__(self, **kwargs):
        super().__init__(2, **kwargs)


STATUS_NAMES = [status_name(status) for status in ModuleStatus]
MODULE_NAMES = [module.name for module in Module]


class StatusField(serializers.ChoiceField):
    """A module status as a word (`not_started`, `in_progress`, `validated`)."""

    def __init__(self, **kwargs):
        super().__init__(choices=STATUS_NAMES, read_only=True, **kwargs)

    def to_representation(self, value):
        return status_name(value)


class ModuleNameField(serializers.ChoiceField):
    """A module by its name (`headcount`, `professional_travel`, ...), as in the API's URLs."""

    def __init__(self, **kwargs):
        super().__init__(choices=MODULE_NAMES, read_only=True, **kwargs)

    def to_representation(self, value):
        return value.name


class ScopeResultSerializer(serializers.Serializer):
    scope = serializers.IntegerField(read_only=True, min_value=1, max_value=3)
    kg = Kg(help_text="kg CO2-eq of the validated modules in this scope; null when no module is validated.")
    t = Tonnes(help_text="The same in tonnes.")


class CategoryResultSerializer(serializers.Serializer):
    category = serializers.CharField(read_only=True, help_text="A results-export category (decision 10).")
    label = serializers.CharField(read_only=True)
    module = ModuleNameField(help_text="The module that must be validated for this category to show.")
    validated = serializers.BooleanField(read_only=True)
    kg = Kg(help_text="kg CO2-eq; null when `module` is not validated.")
    t = Tonnes()


class ModuleResultSerializer(serializers.Serializer):
    module = ModuleNameField()
    label = serializers.CharField(source="module.label", read_only=True)
    status = StatusField()
    validated = serializers.BooleanField(read_only=True)
    enabled = serializers.BooleanField(read_only=True, help_text="Collected this year (the year's settings).")
    kg = Kg(help_text="kg CO2-eq; null unless the module is validated.")
    t = Tonnes()
    previous_kg = Kg(help_text="The previous year's kg; null unless the module was validated then.")
    previous_t = Tonnes()
    change_percent = Percent(help_text="(kg − previous) / previous × 100; null unless both exist and previous > 0.")
    car_km = FixedDecimalField(0, help_text="Equivalent car kilometres (kg / the car-km factor).")
    t_per_fte = Tonnes(help_text="t CO2-eq per FTE of the unit; null when the FTE is unknown or 0.")


class MissingModuleSerializer(serializers.Serializer):
    module = ModuleNameField()
    label = serializers.CharField(source="module.label", read_only=True)
    status = StatusField()
    message = serializers.CharField(read_only=True, help_text='"Validate {label} to see its results."')


class UnitResultsSerializer(serializers.Serializer):
    """The results of a unit and year over validated modules only (product.md §5 decision 9)."""

    unit_institutional_id = serializers.CharField(read_only=True, help_text="The unit's cf.")
    year = serializers.IntegerField(read_only=True)
    previous_year = serializers.IntegerField(read_only=True)
    validated_modules = serializers.IntegerField(read_only=True)
    module_count = serializers.IntegerField(read_only=True)
    total_kg = Kg(help_text="kg CO2-eq of the validated modules, embodied energy included; null (not 0) when "
                            "no module is validated.")
    total_t = Tonnes()
    previous_total_kg = Kg(help_text="The same for the previous year; null when it has no report or nothing "
                                     "validated.")
    previous_total_t = Tonnes()
    change_percent = Percent(help_text="(total − previous) / previous × 100; null unless previous > 0.")
    fte = FixedDecimalField(3, help_text="Σ FTE of the validated headcount (members and students); null when "
                                         "headcount is not validated.")
    kg_per_fte = Kg()
    t_per_fte = Tonnes(help_text="total / FTE; null when the FTE is unknown or 0, or there is no total.")
    car_km = FixedDecimalField(0, help_text="Equivalent car kilometres: total_kg / car_km_kg_co2eq_per_km.")
    car_km_kg_co2eq_per_km = FixedDecimalField(4, allow_null=False, help_text="kg CO2-eq per car-km.")
    car_km_source = serializers.CharField(read_only=True, help_text="Where the car-km factor comes from.")
    scopes = ScopeResultSerializer(many=True, read_only=True)
    categories = CategoryResultSerializer(many=True, read_only=True)
    modules = ModuleResultSerializer(many=True, read_only=True)
    missing = MissingModuleSerializer(many=True, read_only=True,
                                      help_text="Enabled modules not validated: validate them to see their results.")
