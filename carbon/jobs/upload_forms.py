"""The admin upload form: which kind, which year, which unit, which file.

Every rule is checked here, on the server: the page's script only spares a pointless 200 MB upload.
"""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat

from carbon.models import YearConfiguration
from infra.importing import IMPORTERS, Importer, get_importer
from units.models import Unit

__all__ = ["MAX_UPLOAD_BYTES", "UploadForm", "category_choices", "kind_group", "kind_label", "too_large_message"]

# Above this the admin refuses the file (a per-year file of 500,000 rows is about 60 MB).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

REFERENCE, FACTORS, ENTRIES = "Reference data", "Factors (per year)", "Per-year entries"
GROUPS = (REFERENCE, FACTORS, ENTRIES)


def kind_group(importer: Importer) -> str:
    """Reference data, factors or entries: told apart by the registry's own attributes, not a list."""
    if importer.name.startswith("factors:"):
        return FACTORS
    if getattr(importer, "accepts_unit", False):
        return ENTRIES
    return REFERENCE


def kind_label(importer: Importer) -> str:
    label = getattr(getattr(importer, "spec", None), "label", None)
    return f"{label} ({importer.name})" if label and kind_group(importer) == ENTRIES else importer.name


def kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every registered import kind, grouped (a kind registered later shows up without a change here)."""
    grouped: dict[str, list[tuple[str, str]]] = {group: [] for group in GROUPS}
    for importer in IMPORTERS.values():
        grouped[kind_group(importer)].append((importer.name, kind_label(importer)))
    return [(group, sorted(choices, key=lambda c: c[1].lower())) for group, choices in grouped.items() if choices]


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The categories (submodules) of the kinds that hold several, grouped by kind, values prefixed by the kind
    (two kinds may share a category name); read from the importers, so a new such kind shows up here."""
    return [(kind_label(importer), [(f"{importer.name}:{c}", c) for c in importer.categories])
            for importer in sorted(IMPORTERS.values(), key=lambda i: i.name) if getattr(importer, "categories", ())]


def too_large_message(size: int | None = None) -> str:
    got = f" (this one is {filesizeformat(size)})" if size else ""
    return (f"The file is larger than {filesizeformat(MAX_UPLOAD_BYTES)}{got}: split it, or import it with "
            f"`manage.py import_csv --background`.")


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of file")
    year = forms.TypedChoiceField(label="Year", coerce=int, empty_value=None, required=False,
                                  help_text="Required for factors and per-year entries; ignored for reference data.")
    unit_cf = forms.CharField(label="Unit cf (unit file)", required=False, max_length=32,
                              help_text="Per-year entries only: leave empty for a per-year file (it replaces the "
                                        "previous per-year file of that kind and year); give a unit's cf to append a "
                                        "unit file without a unit_institutional_id column.")
    category = forms.ChoiceField(label="Category (submodule)", required=False,
                                 help_text="Purchase and equipment files: the category the file is for, as the "
                                           "reference's per-category templates (no category column). It fills the "
                                           "rows' empty category cells; a row naming another category is an error.")
    skip_invalid = forms.BooleanField(label="Skip invalid rows", required=False,
                                      help_text="Import the valid rows and list the skipped ones. Otherwise a file "
                                                "with any row error imports nothing.")
    file = forms.FileField(label="CSV file", help_text=f"UTF-8 (or Windows-1252), comma or semicolon; at most "
                                                       f"{filesizeformat(MAX_UPLOAD_BYTES)}.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "---------"), *kind_choices()]
        self.fields["category"].choices = [("", "--------- (from the file)"), *category_choices()]
        years = list(YearConfiguration.objects.order_by("-year"))
        self.fields["year"].choices = [("", "---------")] + [
            (y.year, str(y.year) if y.configuration_completed else f"{y.year} (not configured yet)") for y in years]
        configured = [y.year for y in years if y.configuration_completed]
        if configured and not self.is_bound:
            self.initial.setdefault("year", configured[0])
        self.fields["file"].widget.attrs.update({"accept": ".csv,text/csv", "data-max-bytes": MAX_UPLOAD_BYTES,
                                                 "data-too-large": too_large_message()})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(too_large_message(upload.size))
        head = upload.read(4)
        upload.seek(0)
        if head == b"PK\x03\x04":  # a zip container: .xlsx / .ods
            raise forms.ValidationError("This is a spreadsheet workbook, not a CSV file: save it as CSV (UTF-8) "
                                        "and upload that.")
        return upload

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind:
            return cleaned
        importer = get_importer(kind)
        year = cleaned.get("year")
        if not importer.needs_year:
            cleaned["year"] = None  # reference data is not per year: a selected year means nothing
        elif year is None:
            self.add_error("year", f"{kind} files are per year: choose the year.")
        else:
            config = YearConfiguration.objects.filter(year=year).first()
            if config is None or config.configuration_completed is None:
                self.add_error("year", f"Year {year} is not configured yet: create it first.")
        cleaned["category"] = self._category(kind, importer, cleaned.get("category") or "")
        unit_cf = (cleaned.get("unit_cf") or "").strip()
        cleaned["unit_cf"] = unit_cf or None
        if unit_cf:
            if not getattr(importer, "accepts_unit", False):
                self.add_error("unit_cf", f"{kind} files have no unit: only per-year entry kinds accept a unit file.")
            elif not Unit.objects.filter(institutional_id=unit_cf).exists():
                self.add_error("unit_cf", f"Unknown unit cf '{unit_cf}'.")
        return cleaned

    def _category(self, kind: str, importer: Importer, choice: str) -> str | None:
        """The chosen category of this kind (None: from the file); a category of another kind is an error."""
        if not choice:
            return None
        category_kind, _, category = choice.partition(":")
        if category_kind != kind:
            self.add_error("category", f"{choice.replace(':', ': ')} is a category of {category_kind} files, not "
                                       f"of {kind} files.")
            return None
        return category
