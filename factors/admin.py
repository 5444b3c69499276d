"""Back office for reference data: readable by every back-office role, writable only by the global admin."""

from __future__ import annotations

from django.contrib import admin

from factors.models import BuildingRoom, ExchangeRate, Location
from units.admin_scoping import ScopedAdmin


@admin.register(Location)
class LocationAdmin(ScopedAdmin):
    """Read-only: locations come from `import_csv locations` / `load_locations`, which keep the natural
    keys consistent and replace a whole transport mode at once."""

    unit_path = None
    list_display = ("name", "transport_mode", "iata_code", "country_code", "municipality", "latitude", "longitude",
                    "airport_size")
    list_filter = ("transport_mode", "airport_size", "continent")
    search_fields = ("name", "iata_code", "country_code", "municipality", "keywords")
    search_help_text = "Name, IATA code, country code, municipality or keywords."
    list_per_page = 100

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BuildingRoom)
class BuildingRoomAdmin(ScopedAdmin):
    unit_path = None
    list_display = ("room_name", "building_name", "building_location", "room_type", "room_surface_square_meter")
    list_filter = ("building_location", "room_type")
    search_fields = ("room_name", "building_name")
    search_help_text = "Room or building name."
    list_per_page = 100


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ScopedAdmin):
    unit_path = None
    list_display = ("year", "currency", "units_per_eur")
    list_filter = ("year", "currency")
    search_fields = ("currency",)


from factors import admin_kinds  # noqa: E402,F401  (one admin per factor kind, from the registry)
