from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from modules.base import Entry, entry_history


class SiusCode(models.IntegerChoices):
    """The institution's staff categories (reference-domain §2: 55 does not exist)."""

    PROFESSORS = 51, "Professors"
    OTHER_TEACHING_STAFF = 52, "Other teaching staff"
    SCIENTIFIC_COLLABORATORS = 53, "Scientific collaborators"
    SCIENTIFIC_AND_DOCTORAL_ASSISTANTS = 54, "Scientific and doctoral assistants"
    MANAGERIAL_STAFF = 56, "Managerial staff"
    ADMINISTRATIVE_STAFF = 57, "Administrative staff"
    SUPPORT_STAFF = 58, "Support staff"
    OPERATIONAL_STAFF = 59, "Operational staff"


class Member(Entry):
    """One person of the unit's headcount for the year, with their full-time equivalent."""

    name = models.CharField(max_length=255)
    sius_code = models.PositiveSmallIntegerField(_("SIUS code"), choices=SiusCode.choices)
    user_institutional_id = models.CharField(_("SCIPER"), max_length=64)
    fte = models.DecimalField(_("FTE"), max_digits=7, decimal_places=6,
                              validators=[MinValueValidator(0), MaxValueValidator(1)])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["name"]
        constraints = [
            *Entry.Meta.constraints,
            # product.md §5 decision 8: one member per SCIPER in a module report, held by the database.
            models.UniqueConstraint(fields=["module_report", "user_institutional_id"],
                                    name="member_sciper_unique_per_module"),
            models.CheckConstraint(condition=models.Q(sius_code__in=SiusCode.values), name="member_sius_code_valid"),
            models.CheckConstraint(condition=models.Q(fte__gte=0, fte__lte=1), name="member_fte_0_1"),
            models.CheckConstraint(condition=models.Q(name__regex=r"\S"), name="member_name_not_blank"),
            models.CheckConstraint(condition=models.Q(user_institutional_id__regex=r"\S"),
                                   name="member_sciper_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_institutional_id}, {self.fte} FTE)"


class Student(Entry):
    """The unit's students for the year as one total FTE (no upper bound: many part-time students)."""

    fte = models.DecimalField(_("FTE"), max_digits=12, decimal_places=6, validators=[MinValueValidator(0)])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("student")
        verbose_name_plural = _("students")
        constraints = [
            *Entry.Meta.constraints,
            models.UniqueConstraint(fields=["module_report"], name="student_one_row_per_module"),
            models.CheckConstraint(condition=models.Q(fte__gte=0), name="student_fte_ge_0"),
        ]

    def __str__(self) -> str:
        return f"students: {self.fte} FTE"
