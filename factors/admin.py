"""Back office for reference data: readable by every back-office role, writable only by the global admin."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from factors.admin_kinds import CopiedFromLastYearFilter
from factors.models import BuildingRoom, ExchangeRate, Location
from factors.resources import reference_resource
from units.admin_scoping import ScopedAdmin, ScopedExportMixin


@admin.register(Location)
class LocationAdmin(ScopedExportMixin, ScopedAdmin):
    """Read-only: locations come from `import_csv locations` / `load_locations`, which keep the natural
    keys consistent and replace a whole transport mode at once."""

    unit_path = None
    resource_classes = [reference_resource("locations", Location)]  # its import file
    list_display = ("name", "transport_mode", "iata_code", "country_code", "municipality", "latitude", "longitude",
                    "airport_size")
    list_filter = ("transport_mode", "airport_size", "continent")
    search_fields = ("name", "iata_code", "country_code", "municipality", "keywords")
    search_help_text = _("Name, IATA code, country code, municipality or keywords.")
    list_per_page = 100

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BuildingRoom)
class BuildingRoomAdmin(ScopedExportMixin, ScopedAdmin):
    unit_path = None
    resource_classes = [reference_resource("building_rooms", BuildingRoom)]  # its import file
    list_display = ("room_name", "building_name", "building_location", "room_type", "room_surface_square_meter")
    list_filter = ("building_location", "room_type")
    search_fields = ("room_name", "building_name")
    search_help_text = _("Room or building name.")
    list_per_page = 100


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ScopedExportMixin, ScopedAdmin):
    unit_path = None
    resource_classes = [reference_resource("exchange_rates", ExchangeRate, ("copied_from_year",))]  # its import file
    list_display = ("year", "currency", "units_per_eur", "copied_from_year")
    list_filter = ("year", "currency", CopiedFromLastYearFilter)
    search_fields = ("currency",)


from factors import admin_kinds  # noqa: E402,F401  (one admin per factor kind, from the registry)
