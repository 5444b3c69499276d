from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from factors.kinds.external import SERVICE_TYPES
from modules.base import Entry, entry_history

REQUEST_BUCKETS = ("1_5", "5_20", "20_100", "gt_100")
MIN_FTE_COUNT = Decimal("0.1")


class ExternalCloud(Entry):
    """Money spent on one cloud service of one provider (entry kind 40)."""

    service_type = models.CharField(max_length=16, choices=[(s, s) for s in SERVICE_TYPES])
    provider = models.CharField(max_length=64)
    spent_amount = models.DecimalField(max_digits=18, decimal_places=4, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="EUR", help_text=_("ISO 4217, upper case."))

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("external cloud service")
        verbose_name_plural = _("external cloud services")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(service_type__in=SERVICE_TYPES), name="external_cloud_service_valid"),
            models.CheckConstraint(condition=~Q(provider=""), name="external_cloud_provider_set"),
            models.CheckConstraint(condition=Q(spent_amount__gte=0), name="external_cloud_amount_ge_0"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="external_cloud_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.service_type} {self.spent_amount} {self.currency}"


class ExternalAI(Entry):
    """Use of one AI provider for one usage type by `fte_count` people (entry kind 41)."""

    provider = models.CharField(max_length=128)
    usage_type = models.CharField(max_length=64)
    requests_per_user_per_day = models.CharField(max_length=8, choices=[(b, b) for b in REQUEST_BUCKETS])
    fte_count = models.DecimalField(max_digits=10, decimal_places=3, validators=[MinValueValidator(MIN_FTE_COUNT)])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("external AI service")
        verbose_name_plural = _("external AI services")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(requests_per_user_per_day__in=REQUEST_BUCKETS),
                                   name="external_ai_requests_bucket_valid"),
            models.CheckConstraint(condition=~Q(provider="") & ~Q(usage_type=""), name="external_ai_text_set"),
            models.CheckConstraint(condition=Q(fte_count__gte=MIN_FTE_COUNT), name="external_ai_fte_ge_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.usage_type} {self.requests_per_user_per_day} × {self.fte_count}"
