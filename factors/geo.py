"""Travel distances and the train-factor country (reference-domain §4.2). Pure functions, no Django.

The rounding steps are part of the methodology, not cosmetics: results must match the reference's
numbers to the kilometre (worked examples in reference-domain §8 items 8–9).
"""

from __future__ import annotations

import math

__all__ = ["EARTH_MEAN_RADIUS_KM", "PLANE_EXTRA_KM", "TRAIN_DETOUR_FACTOR", "haversine_km", "plane_trip_km",
           "train_country", "train_trip_km"]

EARTH_MEAN_RADIUS_KM = 6371.0088  # IUGG mean radius, as the `haversine` library the reference uses
PLANE_EXTRA_KM = 95  # approach, taxiing and holding on top of the great circle
TRAIN_DETOUR_FACTOR = 1.2  # rails are not great circles
SWITZERLAND = "CH"
REST_OF_WORLD = "RoW"


def _check(lat: float, lon: float) -> None:
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat} is outside [-90, 90]")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon} is outside [-180, 180]")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees (unrounded)."""
    _check(lat1, lon1)
    _check(lat2, lon2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _coordinates(point) -> tuple[float, float]:
    """A (lat, lon) pair, or any object with `latitude` and `longitude` (a `Location`)."""
    if hasattr(point, "latitude"):
        return float(point.latitude), float(point.longitude)
    lat, lon = point
    return float(lat), float(lon)


def plane_trip_km(a, b) -> int:
    """One flight's km: rounded great circle + 95 km. `a`, `b`: (lat, lon) pairs or locations."""
    return round(haversine_km(*_coordinates(a), *_coordinates(b))) + PLANE_EXTRA_KM


def train_trip_km(a, b) -> int:
    """One train trip's km: the rounded great circle × 1.2, rounded again (reference order of rounding)."""
    return round(round(haversine_km(*_coordinates(a), *_coordinates(b))) * TRAIN_DETOUR_FACTOR)


def train_country(origin_cc: str | None, destination_cc: str | None) -> str:
    """The country whose train factor applies to a trip.

    CH when both ends are in CH; else the destination's country if it is not CH; else the origin's if
    it is not CH; else `RoW`. An unknown (None/empty) end is no country, so CH → unknown is `RoW`.
    The factor lookup itself falls back to `RoW` when the country has no factor.
    """
    origin = (origin_cc or "").strip().upper()
    destination = (destination_cc or "").strip().upper()
    if origin == SWITZERLAND and destination == SWITZERLAND:
        return SWITZERLAND
    if destination and destination != SWITZERLAND:
        return destination
    if origin and origin != SWITZERLAND:
        return origin
    return REST_OF_WORLD
