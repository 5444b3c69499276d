"""Signals of the reference data, so that later apps (the modules) can react without factors importing them."""

from django.dispatch import Signal

# Sent after a reference-data import committed; `sender` is the model (Location, BuildingRoom, ExchangeRate).
reference_data_changed = Signal()
