"""Plane and train trips. The place a traveller wrote (IATA code, station name + country) is kept verbatim;
the resolved `Location` is a nullable FK, so an unknown place keeps the row (no emission) instead of losing it.

Location FKs use SET_NULL, not PROTECT: locations are reference data that the `locations` import
replaces per transport mode (it deletes the places missing from the new file). PROTECT would make
that refresh fail (an uncaught ProtectedError) on the first referenced place; SET_NULL degrades the
trip to "unknown place" (no emission at the next recalculation) while the code or name the traveller
entered stays, so nothing typed is lost and a re-import resolves it again.
"""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from factors.kinds.travel import PLANE_CABIN_CLASSES, TRAIN_CABIN_CLASSES
from factors.models import Location, TransportMode
from modules.base import Entry, entry_history

IATA_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "a three-letter IATA code in upper case")
COUNTRY_VALIDATOR = RegexValidator(r"^[A-Z]{2}$", "a two-letter ISO country code in upper case")


def _location(mode: str, help_text: str) -> models.ForeignKey:
    # Not checked by the database at each insert: every writer resolves the place from the location table itself
    # (imports, forms, `relink`), and a deleted place is unlinked by the ORM (SET_NULL, through the index). The
    # check cost two lookups per imported trip — a fifth of the database's share of an import.
    return models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             limit_choices_to={"transport_mode": mode}, help_text=help_text, db_constraint=False)


class Trip(Entry):
    """What plane and train trips share: the traveller, the date, how many times, and the distance."""

    user_institutional_id = models.CharField(_("traveller"), max_length=64,
                                             help_text=_("Institutional id (SCIPER) of the person who travelled."))
    departure_date = models.DateField(null=True, blank=True)
    number_of_trips = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    distance_km = models.PositiveIntegerField(null=True, blank=True, editable=False,
                                              help_text=_("One trip's km, computed from the locations (display)."))

    class Meta(Entry.Meta):
        abstract = True


class PlaneTrip(Trip):
    """One flight (origin → destination), possibly taken several times, in one cabin class."""

    origin_iata = models.CharField(_("origin IATA code"), max_length=3, validators=[IATA_VALIDATOR])
    destination_iata = models.CharField(_("destination IATA code"), max_length=3, validators=[IATA_VALIDATOR])
    origin = _location(TransportMode.PLANE, _("The airport of origin_iata; empty when the code is unknown."))
    destination = _location(TransportMode.PLANE, _("The airport of destination_iata; empty when unknown."))
    cabin_class = models.CharField(max_length=16, choices=[(c, c) for c in PLANE_CABIN_CLASSES])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("plane trip")
        verbose_name_plural = _("plane trips")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(origin_iata__regex=r"^[A-Z]{3}$"), name="plane_origin_iata_format"),
            models.CheckConstraint(condition=Q(destination_iata__regex=r"^[A-Z]{3}$"),
                                   name="plane_destination_iata_format"),
            models.CheckConstraint(condition=~Q(user_institutional_id=""), name="plane_traveller_not_empty"),
            models.CheckConstraint(condition=Q(number_of_trips__gte=1), name="plane_trips_ge_1"),
            models.CheckConstraint(condition=Q(cabin_class__in=PLANE_CABIN_CLASSES), name="plane_cabin_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.origin_iata} → {self.destination_iata} ×{self.number_of_trips} ({self.cabin_class})"


class TrainTrip(Trip):
    """One train journey between two stations, each named with its country, possibly taken several times."""

    origin_name = models.CharField(max_length=255)
    origin_country_code = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    destination_name = models.CharField(max_length=255)
    destination_country_code = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    origin = _location(TransportMode.TRAIN, _("The station of origin_name; empty when no station has that name."))
    destination = _location(TransportMode.TRAIN, _("The station of destination_name; empty when unknown."))
    cabin_class = models.CharField(max_length=16, choices=[(c, c) for c in TRAIN_CABIN_CLASSES])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("train trip")
        verbose_name_plural = _("train trips")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=~Q(origin_name=""), name="train_origin_name_not_empty"),
            models.CheckConstraint(condition=~Q(destination_name=""), name="train_destination_name_not_empty"),
            models.CheckConstraint(condition=Q(origin_country_code__regex=r"^[A-Z]{2}$"),
                                   name="train_origin_country_iso2"),
            models.CheckConstraint(condition=Q(destination_country_code__regex=r"^[A-Z]{2}$"),
                                   name="train_destination_country_iso2"),
            models.CheckConstraint(condition=~Q(user_institutional_id=""), name="train_traveller_not_empty"),
            models.CheckConstraint(condition=Q(number_of_trips__gte=1), name="train_trips_ge_1"),
            models.CheckConstraint(condition=Q(cabin_class__in=TRAIN_CABIN_CLASSES), name="train_cabin_valid"),
        ]

    def __str__(self) -> str:
        return (f"{self.origin_name} ({self.origin_country_code}) → {self.destination_name} "
                f"({self.destination_country_code}) ×{self.number_of_trips} ({self.cabin_class})")
