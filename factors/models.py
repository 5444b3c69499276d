"""Emission factors (published per year) and the reference data they are looked up with.

Reference data is not per year: airports and train stations (`Location`), the institution's rooms
(`BuildingRoom`) and yearly exchange rates (`ExchangeRate`). It is replaced or upserted by CSV import
(`factors/importers.py`), readable by every back-office role and writable only by the global admin.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

__all__ = ["BuildingRoom", "ExchangeRate", "Location", "TransportMode", "location_natural_key"]


# ------------------------------------------------------------------------------------ reference data
class TransportMode(models.TextChoices):
    PLANE = "plane", "Plane"
    TRAIN = "train", "Train"


def location_natural_key(*, transport_mode: str, name: str, country_code: str, latitude: float,
                         longitude: float, iata_code: str = "") -> str:
    """The identity a re-import matches on (reference-domain §1.11).

    Airports are known by their IATA code; a station by mode, country, normalised name and
    coordinates, because station names repeat across countries (Basel SBB / Basel Bad Bf, Berne CH / DE).
    """
    if transport_mode == TransportMode.PLANE and iata_code:
        return f"plane:{iata_code.upper()}"
    folded = " ".join(name.lower().split())
    return f"{transport_mode}:{country_code.lower()}:{folded}:{float(latitude)!r}:{float(longitude)!r}"


class Location(models.Model):
    """An airport or a train station that travel entries name (plane by IATA, train by name + country)."""

    transport_mode = models.CharField(max_length=8, choices=TransportMode.choices)
    name = models.CharField(max_length=255)
    iata_code = models.CharField(_("IATA code"), max_length=3, blank=True, db_index=True)
    country_code = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2, upper case."))
    latitude = models.FloatField()
    longitude = models.FloatField()
    municipality = models.CharField(max_length=255, blank=True)
    airport_size = models.CharField(max_length=32, blank=True, help_text=_("e.g. medium_airport, large_airport."))
    continent = models.CharField(max_length=2, blank=True)
    keywords = models.TextField(blank=True, help_text=_("Extra search terms."))
    natural_key = models.CharField(max_length=500, unique=True, editable=False)
    # What the autocomplete and the station matcher search: name, keywords and municipality folded by
    # `location_fold` (SQL, migration 0003: lower case, unaccented, punctuation → one space). A GENERATED
    # column rather than one filled in Python: every write path (the importer's bulk_create and
    # bulk_update, admin, raw SQL) keeps it right with no hook and no backfill, and queries fold their
    # input with the same SQL function, so both sides always fold alike (factors/folding.py).
    search_text = models.GeneratedField(
        expression=Func(Concat("name", Value(" "), "keywords", Value(" "), "municipality",
                               output_field=models.TextField()),
                        function="location_fold", output_field=models.TextField()),
        output_field=models.TextField(), db_persist=True)

    # search_text is derived: not worth a copy in every history row (simple-history cannot write it anyway).
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["transport_mode", "name"]
        indexes = [
            # Train entries resolve a station by (mode, country, folded name): factors.selectors.match_stations.
            models.Index(F("transport_mode"), F("country_code"), Func("name", function="location_fold"),
                         name="location_mode_cc_fname_idx"),
            # Autocomplete and station keywords: word-prefix LIKE and trigram-similarity (%>>) matches on the
            # folded text from a GIN trigram index (pg_trgm), not a scan. (IATA prefixes use iata_code's
            # own varchar_pattern_ops index.)
            GinIndex(fields=["search_text"], opclasses=["gin_trgm_ops"], name="location_search_trgm_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="location_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180),
                                   name="location_longitude_range"),
            models.CheckConstraint(condition=Q(transport_mode__in=TransportMode.values), name="location_mode_valid"),
            models.CheckConstraint(condition=Q(country_code__regex=r"^[A-Z]{2}$"), name="location_country_iso2"),
            models.CheckConstraint(condition=Q(iata_code="") | Q(iata_code__regex=r"^[A-Z]{3}$"),
                                   name="location_iata_format"),
        ]

    def __str__(self) -> str:
        code = self.iata_code or self.country_code
        return f"{self.name} ({code}, {self.transport_mode})"


class BuildingRoom(models.Model):
    """A room of the institution and its surface: building-room entries look their surface up by room name."""

    building_location = models.CharField(max_length=64, help_text=_("Site, e.g. ECUBLENS."))
    building_name = models.CharField(max_length=64, db_index=True)
    room_name = models.CharField(max_length=128, unique=True)
    room_type = models.CharField(max_length=64, null=True, blank=True)
    room_surface_square_meter = models.FloatField(_("surface (m²)"), null=True, blank=True,
                                                  help_text=_("Empty when unknown."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("building room")
        verbose_name_plural = _("building rooms")
        ordering = ["building_location", "building_name", "room_name"]
        constraints = [
            models.CheckConstraint(condition=Q(room_surface_square_meter__gte=0), name="building_room_surface_gte_0"),
        ]

    def __str__(self) -> str:
        return self.room_name


class ExchangeRate(models.Model):
    """Yearly average rate: 1 EUR = `units_per_eur` units of `currency` (product.md §5 decision 5).

    Stored rather than fetched so that a computation never depends on a network call.
    """

    year = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3, help_text=_("ISO 4217, upper case."))
    units_per_eur = models.DecimalField(max_digits=20, decimal_places=10)
    # Set by the year rollover: the year this rate was copied from (replace it when the year's figure is out).
    copied_from_year = models.PositiveSmallIntegerField(_("copied from year"), null=True, blank=True,
                                                        editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-year", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["year", "currency"], name="exchange_rate_year_currency_unique"),
            models.CheckConstraint(condition=Q(units_per_eur__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="exchange_rate_currency_iso"),
            models.CheckConstraint(condition=Q(year__gte=1999, year__lte=2100), name="exchange_rate_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.year}: 1 EUR = {self.units_per_eur.normalize():f} {self.currency}"

    def clean(self) -> None:
        # Admin forms: accept "chf" as the importer does, rather than failing the format check.
        self.currency = (self.currency or "").strip().upper()


# ------------------------------------------------------------------------------------- emission factors
# One model per factor kind (csv-formats.md "Factors"), each with the columns of its CSV, follows here.


# One model per factor kind, each declared in factors/kinds/<module>.py beside its CSV spec; imported here by
# name so that `factors.models` lists every model of the app (and grep and IDEs can follow them).
from factors.kinds.buildings import BuildingRoomFactor, EmbodiedEnergyFactor, EnergyCombustionFactor  # noqa: E402
from factors.kinds.equipment import EquipmentFactor  # noqa: E402
from factors.kinds.external import ExternalAIFactor, ExternalCloudFactor  # noqa: E402
from factors.kinds.facilities import AnimalFacilityFactor, ResearchFacilityFactor  # noqa: E402
from factors.kinds.headcount import MemberFactor, StudentFactor  # noqa: E402
from factors.kinds.process import ProcessEmissionFactor  # noqa: E402
from factors.kinds.purchases import AdditionalPurchaseFactor, PurchaseFactor  # noqa: E402
from factors.kinds.travel import PlaneFactor, TrainFactor  # noqa: E402

__all__ += [
    "AdditionalPurchaseFactor", "AnimalFacilityFactor", "BuildingRoomFactor", "EmbodiedEnergyFactor",
    "EnergyCombustionFactor", "EquipmentFactor", "ExternalAIFactor", "ExternalCloudFactor", "MemberFactor",
    "PlaneFactor", "ProcessEmissionFactor", "PurchaseFactor", "ResearchFacilityFactor", "StudentFactor",
    "TrainFactor",
]
