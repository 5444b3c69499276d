"""How names are compared (airports, stations, people): lower case, no accents, punctuation as one space.

The SQL function `location_fold` (migration factors 0003) and `fold` here apply the same table, so the
database and Python agree ("Genève-Aéroport" = "geneve aeroport"). A plain `translate()` rather than the
`unaccent` extension: it is IMMUTABLE (usable in a generated column and an index) and needs no extension
that the embedded PostgreSQL lacks. Changing the table needs a new migration replacing the function.
"""

from __future__ import annotations

import re

# Latin-1 Supplement and Latin Extended-A letters with diacritics → their base letter.
ACCENTED = ("ÀÁÂÃÄÅàáâãäåĀāĂăĄąÇçĆćĈĉĊċČčĎďĐđÈÉÊËèéêëĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħÌÍÎÏìíîïĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁł"
            "ÑñŃńŅņŇňÒÓÔÕÖØòóôõöøŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲųŴŵÝýÿŶŷŸŹźŻżŽž")
BASE = ("AAAAAAaaaaaaAaAaAaCcCcCcCcCcDdDdEEEEeeeeEeEeEeEeEeGgGgGgGgHhHhIIIIiiiiIiIiIiIiIiJjKkLlLlLlLlLl"
        "NnNnNnNnOOOOOOooooooOoOoOoRrRrRrSsSsSsSsTtTtTtUUUUuuuuUuUuUuUuUuUuWwYyyYyYZzZzZz")
LIGATURES = (("ß", "ss"), ("æ", "ae"), ("œ", "oe"))
_TABLE = str.maketrans(ACCENTED, BASE)
_NOT_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    folded = text.translate(_TABLE).lower()
    for letter, spelled in LIGATURES:
        folded = folded.replace(letter, spelled)
    return _NOT_ALNUM.sub(" ", folded).strip()


def fold_sql_body() -> str:
    """The SQL expression of `location_fold($1)`, from the same table."""
    expression = f"lower(translate($1, '{ACCENTED}', '{BASE}'))"
    for letter, spelled in LIGATURES:
        expression = f"replace({expression}, '{letter}', '{spelled}')"
    return f"btrim(regexp_replace({expression}, '[^[:alnum:]]+', ' ', 'g'))"
