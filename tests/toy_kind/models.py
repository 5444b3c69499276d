from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from modules.base import Entry


class ToyWidget(Entry):
    """Widgets a lab bought: a fixed 2.5 kg CO2-eq each."""

    widget_name = models.CharField(max_length=100)
    count = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(0)])

    history = HistoricalRecords(excluded_fields=["kg_co2eq", "updated_at"])

    class Meta(Entry.Meta):
        constraints = [*Entry.Meta.constraints,
                       models.CheckConstraint(condition=models.Q(count__gte=0), name="toy_widget_count_ge_0")]
