"""The report of a unit's year as the lab API shows it: modules, statuses, completion, totals."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from carbon.models import CarbonReport, ModuleSetting, ModuleStatus, SubmoduleSetting
from carbon.taxonomy import Module
from lab.access import LabAccess
from modules.registry import kinds_of_module

__all__ = ["ReportSerializer", "YearSerializer", "report_data", "report_summary"]


def _status(value: int) -> str:
    return ModuleStatus(value).name.lower()


class YearSerializer(serializers.Serializer):
    year = serializers.IntegerField(source="year_id")
    is_open = serializers.BooleanField(source="year.is_started")
    status = serializers.SerializerMethodField()
    validated_modules = serializers.SerializerMethodField()
    module_count = serializers.SerializerMethodField()

    def get_status(self, report) -> str:
        return _status(report.overall_status)

    def get_validated_modules(self, report) -> int:
        return report.completion()[0]

    def get_module_count(self, report) -> int:
        return report.completion()[1]


class ReopenedSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class KindStatusSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="the entry kind's name: /entries/{kind}/")
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    threshold_kg = serializers.DecimalField(max_digits=20, decimal_places=3, allow_null=True)
    editable = serializers.BooleanField(help_text="may the caller enter rows of this kind")


class ModuleStatusSerializer(serializers.Serializer):
    module = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=[s.name.lower() for s in ModuleStatus])
    enabled = serializers.BooleanField()
    kg = serializers.DecimalField(max_digits=20, decimal_places=3, allow_null=True,
                                  help_text="the module's total over all its rows, validated or not (null for "
                                            "a standard user while the module is not validated)")
    entries = serializers.IntegerField(allow_null=True)
    reopened = ReopenedSerializer(allow_null=True, help_text="when a validated module went back to in progress")
    kinds = KindStatusSerializer(many=True)


class ReportSerializer(serializers.Serializer):
    cf = serializers.CharField()
    unit = serializers.CharField()
    year = serializers.IntegerField()
    is_open = serializers.BooleanField()
    role = serializers.ChoiceField(choices=["principal", "standard", "backoffice"])
    can_edit = serializers.BooleanField()
    can_validate = serializers.BooleanField()
    status = serializers.ChoiceField(choices=[s.name.lower() for s in ModuleStatus])
    validated_modules = serializers.IntegerField()
    module_count = serializers.IntegerField()
    validated_kg = serializers.DecimalField(max_digits=20, decimal_places=3,
                                            help_text="the total over validated modules (the lab's results)")
    modules = ModuleStatusSerializer(many=True)


def report_data(access: LabAccess, report: CarbonReport) -> dict:
    """The report as the API answers it."""
    return ReportSerializer(report_summary(access, report)).data


def report_summary(access: LabAccess, report: CarbonReport) -> dict:
    """The report as Python values (Decimals, datetimes), for the API's serializer and the pages."""
    year = report.year_id
    module_reports = {m.module: m for m in report.modules.select_related("reopened_by")}
    module_enabled = dict(ModuleSetting.objects.filter(year_id=year).values_list("module", "enabled"))
    kind_settings = {s.kind: s for s in SubmoduleSetting.objects.filter(year_id=year)}
    modules, validated_kg = [], Decimal(0)
    for module in Module:
        module_report = module_reports.get(module.value)
        if module_report is None:
            continue
        validated = module_report.status == ModuleStatus.VALIDATED
        total = Decimal(module_report.stats.get("total", "0"))
        if validated:
            validated_kg += total
        hidden = access.own_only and not validated  # colleagues' rows in progress are not a standard user's
        kinds = []
        for spec in kinds_of_module(module):
            if not access.kind_visible(spec):
                continue
            settings = [kind_settings.get(k.value) for k in spec.kinds]
            kinds.append({"kind": spec.name, "label": spec.label or spec.name,
                          "enabled": any(s is None or s.enabled for s in settings),
                          "threshold_kg": settings[0].threshold if len(settings) == 1 and settings[0] else None,
                          "editable": access.may_write_kind(spec)})
        reopened = None
        if module_report.reopened_at is not None:
            by = module_report.reopened_by
            reopened = {"at": module_report.reopened_at, "reason": module_report.reopened_reason,
                        "by": None if by is None else (by.display_name or by.institutional_id)}
        modules.append({
            "module": module.name, "label": module.label, "status": _status(module_report.status),
            "enabled": module_enabled.get(module.value, True), "kg": None if hidden else total,
            "entries": None if access.own_only else module_report.stats.get("entry_count", 0),
            "reopened": reopened, "kinds": kinds,
        })
    done = sum(m["status"] == "validated" for m in modules)
    role = "backoffice" if not access.member else "standard" if access.own_only else "principal"
    return {
        "cf": access.unit.institutional_id, "unit": access.unit.name, "year": year,
        "is_open": report.year.is_started, "role": role, "can_edit": access.can_edit,
        "can_validate": access.can_validate, "status": _status(report.overall_status), "validated_modules": done,
        "module_count": len(modules), "validated_kg": validated_kg, "modules": modules,
    }
