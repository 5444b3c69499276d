from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from factors.kinds.facilities import ANIMAL_TYPES
from modules.base import Entry, entry_history


class FacilityUse(Entry):
    """What both facility kinds record: which facility, and how much of it the unit used."""

    researchfacility_id = models.CharField(_("facility id (cf)"), max_length=64)
    researchfacility_name = models.CharField(_("facility name"), max_length=255)
    use = models.DecimalField(max_digits=20, decimal_places=6, validators=[MinValueValidator(0)])
    use_unit = models.CharField(max_length=32, help_text=_("Must be the facility factor's unit (e.g. hours)."))

    class Meta(Entry.Meta):
        abstract = True
        ordering = ["researchfacility_id"]
        # Entry.Meta's "%(app_label)s_%(class)s_mr_src" exceeds Django's 30-character index names here.
        indexes = [models.Index(fields=["module_report", "source"], name="%(class)s_mr_src")]
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=models.Q(use__gte=0), name="%(class)s_use_ge_0"),
            models.CheckConstraint(condition=models.Q(researchfacility_id__regex=r"\S"),
                                   name="%(class)s_facility_id_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.researchfacility_name} ({self.researchfacility_id}): {self.use} {self.use_unit}"


class ResearchFacilityUse(FacilityUse):
    """A unit's use of a shared research facility (platform, instrument centre, computing)."""

    history = entry_history()

    class Meta(FacilityUse.Meta):
        verbose_name = _("research facility use")
        verbose_name_plural = _("research facility uses")


class AnimalFacilityUse(FacilityUse):
    """A unit's use of an animal facility (mice or fish), e.g. in housings."""

    researchfacility_type = models.CharField(_("animal type"), max_length=8, choices=[(t, t) for t in ANIMAL_TYPES])

    history = entry_history()

    class Meta(FacilityUse.Meta):
        verbose_name = _("animal facility use")
        verbose_name_plural = _("animal facility uses")
        constraints = [
            *FacilityUse.Meta.constraints,
            models.CheckConstraint(condition=models.Q(researchfacility_type__in=ANIMAL_TYPES),
                                   name="animal_facility_use_type_valid"),
        ]
