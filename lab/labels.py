"""Names people read, translatable: modules and entry kinds (the taxonomy and the registry stay free of
Django and keep the English names; these are their catalogue entries) and the row origins."""

from django.utils.translation import gettext, gettext_noop

from carbon.taxonomy import Module

# Listed for makemessages; `label()` looks them up at render time, in the active language.
_CATALOGUE = [
    gettext_noop("Headcount"), gettext_noop("Professional travel"), gettext_noop("Buildings"),
    gettext_noop("Equipment"), gettext_noop("Purchases"), gettext_noop("Research facilities"),
    gettext_noop("External cloud and AI"), gettext_noop("Process emissions"),
    gettext_noop("Members"), gettext_noop("Students"), gettext_noop("Plane trips"), gettext_noop("Train trips"),
    gettext_noop("Building rooms"), gettext_noop("Energy combustion"), gettext_noop("External cloud"),
    gettext_noop("External AI"), gettext_noop("Purchases"), gettext_noop("Additional purchases"),
    gettext_noop("Research facilities"), gettext_noop("Animal facilities (mice and fish)"),
    gettext_noop("Entered by hand"), gettext_noop("Per-year CSV file"), gettext_noop("Unit CSV upload"),
    gettext_noop("API, per year"), gettext_noop("API, per unit"), gettext_noop("External integration"),
    gettext_noop("Not started"), gettext_noop("In progress"), gettext_noop("Validated"),
]


def label(text: str) -> str:
    return gettext(text) if text else text


def module_label(module: Module) -> str:
    return gettext(module.label)


# The CSV contract's columns as people read them in forms and tables.
COLUMN_LABELS = {
    "origin_iata": gettext_noop("From (airport code)"),
    "destination_iata": gettext_noop("To (airport code)"),
    "user_institutional_id": gettext_noop("Person (institutional id)"),
    "departure_date": gettext_noop("Departure date"),
    "number_of_trips": gettext_noop("Number of trips"),
    "cabin_class": gettext_noop("Class"),
    "note": gettext_noop("Note"),
    "origin_name": gettext_noop("From (station)"),
    "origin_country_code": gettext_noop("From (country code)"),
    "destination_name": gettext_noop("To (station)"),
    "destination_country_code": gettext_noop("To (country code)"),
    "building_location": gettext_noop("Site"),
    "building_name": gettext_noop("Building"),
    "room_name": gettext_noop("Room"),
    "room_type": gettext_noop("Room type"),
    "room_allocation_ratio": gettext_noop("Share of the room (0–1)"),
    "name": gettext_noop("Name"),
    "unit": gettext_noop("Unit"),
    "quantity": gettext_noop("Quantity"),
    "equipment_category": gettext_noop("Category"),
    "equipment_id": gettext_noop("Inventory number"),
    "equipment_class": gettext_noop("Class"),
    "sub_class": gettext_noop("Sub-class"),
    "active_usage_hours_per_week": gettext_noop("Active hours per week"),
    "standby_usage_hours_per_week": gettext_noop("Standby hours per week"),
    "service_type": gettext_noop("Service"),
    "provider": gettext_noop("Provider"),
    "spent_amount": gettext_noop("Amount spent"),
    "currency": gettext_noop("Currency"),
    "usage_type": gettext_noop("Usage"),
    "requests_per_user_per_day": gettext_noop("Requests per person per day"),
    "fte_count": gettext_noop("Number of people (FTE)"),
    "researchfacility_id": gettext_noop("Facility id"),
    "researchfacility_name": gettext_noop("Facility"),
    "use": gettext_noop("Use"),
    "use_unit": gettext_noop("Unit of use"),
    "researchfacility_type": gettext_noop("Animals"),
    "sius_code": gettext_noop("SIUS code"),
    "fte": gettext_noop("FTE"),
    "category": gettext_noop("Gas"),
    "subcategory": gettext_noop("Sub-category"),
    "purchase_category": gettext_noop("Purchase category"),
    "supplier": gettext_noop("Supplier"),
    "total_spent_amount": gettext_noop("Amount spent"),
    "purchase_institutional_code": gettext_noop("Purchase code"),
    "purchase_institutional_description": gettext_noop("Purchase description"),
    "purchase_additional_code": gettext_noop("Additional code"),
    "annual_consumption": gettext_noop("Annual consumption"),
    "coef_to_kg": gettext_noop("Kilograms per unit"),
    "kg_co2eq": gettext_noop("kg CO₂-eq"),
}


def column_label(name: str) -> str:
    return gettext(COLUMN_LABELS.get(name, name.replace("_", " ").capitalize()))
