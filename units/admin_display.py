"""How the back office shows numbers and structured values: kg with sensible precision and the language's
thousands separator, JSON (job summaries, options, errors) as tables.

Settings keep USE_THOUSAND_SEPARATOR off (years, ids and the CSV exports stay plain): grouping is asked for here,
for display only. French groups with a narrow no-break space (U+202F, the typographic rule; Django's French
format file has the wider U+00A0).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext

__all__ = ["decimal_columns", "display_exact", "display_kg", "display_number", "json_table"]

NARROW_NO_BREAK_SPACE = "\u202f"


def display_number(value: Decimal, decimals: int) -> str:
    """Rounded half up here: Django's number_format cuts the extra digits off."""
    value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)
    if (get_language() or "").startswith("fr"):
        text = text.replace("\xa0", NARROW_NO_BREAK_SPACE)
    return text


def _decimals(value: Decimal) -> int:
    """≥ 100 kg: none; ≥ 1 kg: two; below: two significant digits (0.0046), never more than six."""
    magnitude = abs(value)
    if magnitude >= 100:
        return 0
    if magnitude == 0:
        return 0
    if magnitude >= 1:
        return 2
    return min(6, 1 - magnitude.adjusted())


def display_kg(value) -> str:
    """A kg CO2-eq amount for people: "12,346", "12.35", "0.0046" (English); "12 346", "12,35" (French)."""
    if value is None or value == "":
        return "—"
    try:
        value = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return display_number(value, _decimals(value))


def display_exact(value) -> str:
    """A measured value or a factor as it is, without the column's padding zeros ("0.1234", not
    "0.123400000000"), grouped in the active language."""
    if value is None or value == "":
        return "—"
    value = Decimal(str(value))
    exponent = value.normalize().as_tuple().exponent
    return display_number(value, max(0, -exponent) if isinstance(exponent, int) else 0)


def decimal_columns(model, names) -> tuple[list, dict]:
    """`names` for a list_display, each DecimalField replaced by a column that shows it with `display_exact`;
    returns (the names, the display functions to add to the admin class)."""
    from django.contrib import admin
    from django.db import models

    shown, functions = [], {}
    for name in names:
        field = next((f for f in model._meta.concrete_fields if f.name == name), None)
        if not isinstance(field, models.DecimalField):
            shown.append(name)
            continue
        column = f"{name}_shown"

        @admin.display(description=field.verbose_name, ordering=name)
        def show(self, obj, name=name):
            return display_exact(getattr(obj, name))

        functions[column] = show
        shown.append(column)
    return shown, functions


def json_table(value) -> str:
    """A JSON value (dict, list of dicts, list, scalar) as an escaped HTML table; empty → "—"."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, dict):
        rows = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                                ((key, _cell(item)) for key, item in value.items()))
        return format_html('<table class="json-table"><tbody>{}</tbody></table>', rows)
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        columns = list(dict.fromkeys(key for item in value for key in item))
        head = format_html_join("", "<th scope=\"col\">{}</th>", ((c,) for c in columns))
        body = format_html_join("", "<tr>{}</tr>", ((format_html_join(
            "", "<td>{}</td>", ((_cell(item.get(c)),) for c in columns)),) for item in value))
        return format_html('<table class="json-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)
    if isinstance(value, list):
        return format_html('<ul class="json-list">{}</ul>', format_html_join("", "<li>{}</li>",
                                                                               ((_cell(i),) for i in value)))
    return str(value)


def _cell(value):
    if isinstance(value, (dict, list)):
        return json_table(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return value
