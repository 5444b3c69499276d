"""Signals of the reference data, so that later apps (the modules) can react without factors importing them."""

from django.dispatch import Signal

# Sent after a reference-data import committed; `sender` is the model (Location, BuildingRoom, ExchangeRate).
reference_data_changed = Signal()

# Sent after factors of some entry kinds changed for a year (import or admin edit) and the caller wants the
# entries recomputed now (foreground import); `kinds` are entry kind names, `year` the year.
factors_changed = Signal()
