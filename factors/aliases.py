"""Other names of train stations: the English (and neighbouring-language) names people write for a
station that the locations table names in its local language ("Geneva" for `Genève`).

Curated data, not a translation service. The table's own `keywords` already carry many other names
for search, but a keyword is shared by every station of a city ("Geneva" is a keyword of Genève,
Genève-Aéroport and Genève-Eaux-Vives), so it cannot say which station a CSV row means. This list
can: a city's name designates its main station. It is read per country (a CSV row always has one),
by `factors.selectors.match_stations` (imports) and `search_locations` (autocomplete, which also
uses it the other way round: "Genève" finds the airport named "Geneva …").

Format: country → station name exactly as in the locations table (operator spelling, see
fixtures/reference/stations.csv) → the other names it is known by. Matching folds case, accents and
punctuation on both sides, so "Zuerich" must be listed but "ZURICH" or "Zürich" need not. Cities with
several main stations and no obvious default (Paris, Lille) are left out on purpose: such a name stays
unknown (a warning) rather than silently picking a terminus.
"""

from __future__ import annotations

from functools import cache

from factors.folding import fold

__all__ = ["FACTOR_NAME_ALIASES", "STATION_ALIASES", "alias_groups", "factor_name", "fold", "station_aliases"]

STATION_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "CH": {
        "Genève": ("Geneva", "Genf", "Ginevra", "Geneve Cornavin"),
        "Genève-Aéroport": ("Geneva Airport", "Genf Flughafen"),
        "Zürich HB": ("Zurich", "Zuerich", "Zurigo", "Zurich Main Station", "Zurich Hauptbahnhof"),
        "Zürich Flughafen": ("Zurich Airport",),
        "Basel SBB": ("Basel", "Basle", "Bâle", "Basilea"),
        "Bern": ("Berne", "Berna"),
        "Luzern": ("Lucerne", "Lucerna"),
        "Lausanne": ("Losanna",),
        "St. Gallen": ("Saint-Gall", "St. Gall", "San Gallo"),
        "Biel/Bienne": ("Biel", "Bienne"),
        "Fribourg/Freiburg": ("Fribourg", "Freiburg"),
        "Neuchâtel": ("Neuenburg",),
        "Sion": ("Sitten",),
        "Solothurn": ("Soleure",),
        "Schaffhausen": ("Schaffhouse",),
        "Chur": ("Coire", "Coira"),
        "Zug": ("Zoug",),
        "Thun": ("Thoune",),
        "Brig": ("Brigue",),
        "Visp": ("Viège",),
        "Delémont": ("Delsberg",),
        "St. Moritz": ("Saint-Moritz", "San Murezzan"),
        "Interlaken Ost": ("Interlaken",),
    },
    "DE": {
        "München Hbf": ("Munich", "München", "Muenchen"),
        "Köln Hbf": ("Cologne", "Köln", "Koeln"),
        "Frankfurt (Main) Hbf": ("Frankfurt", "Frankfurt am Main", "Francfort"),
        "Berlin Hbf": ("Berlin",),
        "Hamburg Hbf": ("Hamburg", "Hambourg"),
        "Stuttgart Hbf": ("Stuttgart",),
        "Karlsruhe Hbf": ("Karlsruhe",),
        "Mannheim Hbf": ("Mannheim",),
        "Düsseldorf Hbf": ("Dusseldorf", "Duesseldorf", "Düsseldorf"),
        "Freiburg (Breisgau) Hbf": ("Freiburg", "Freiburg im Breisgau"),
        "Konstanz": ("Constance",),
        "Nürnberg Hbf": ("Nuremberg", "Nürnberg", "Nuernberg"),
        "Basel Bad Bf": ("Basel Badischer Bahnhof",),
    },
    "AT": {
        "Wien Hbf": ("Vienna", "Wien", "Vienne"),
        "Salzburg Hbf": ("Salzburg", "Salzbourg"),
        "Innsbruck Hbf": ("Innsbruck",),
        "Linz Hbf": ("Linz",),
        "Graz Hbf": ("Graz",),
    },
    "IT": {
        "Milano Centrale": ("Milan", "Milano", "Mailand"),
        "Torino Porta Nuova": ("Turin", "Torino"),
        "Firenze Santa Maria Novella": ("Florence", "Firenze", "Florenz"),
        "Venezia Santa Lucia": ("Venice", "Venezia", "Venise", "Venedig"),
        "Roma Termini": ("Rome", "Roma", "Rom"),
        "Genova Piazza Principe": ("Genoa", "Genova", "Gênes", "Genua"),
        "Bologna Centrale": ("Bologna", "Bologne"),
        "Verona Porta Nuova": ("Verona", "Vérone"),
        "Napoli Centrale": ("Naples", "Napoli", "Neapel"),
    },
    "FR": {
        "Lyon Part-Dieu": ("Lyon", "Lyons"),
        "Marseille Saint-Charles": ("Marseille", "Marseilles"),
        "Strasbourg": ("Strassburg",),
        "Mulhouse": ("Mülhausen",),
        "Dijon Ville": ("Dijon",),
        "Besançon Viotte": ("Besançon",),
        "Nice Ville": ("Nice", "Nizza"),
        "Montpellier Saint-Roch": ("Montpellier",),
    },
    "BE": {"Bruxelles-Midi": ("Brussels", "Bruxelles", "Brussel", "Brüssel", "Brussels Midi", "Brussel-Zuid")},
    "NL": {"Amsterdam Centraal": ("Amsterdam", "Amsterdam Central"),
           "Rotterdam Centraal": ("Rotterdam",)},
    # London has many termini; from Switzerland a train arrives at St Pancras (Eurostar).
    "GB": {"London St Pancras International": ("London", "Londres", "London St Pancras")},
    "LU": {"Luxembourg": ("Luxemburg",)},
    "CZ": {"Praha hlavní nádraží": ("Prague", "Praha", "Prag")},
    "ES": {"Barcelona Sants": ("Barcelona", "Barcelone")},
}

@cache
def station_aliases(country_code: str) -> dict[str, tuple[str, ...]]:
    """Folded other name → the station names of `country_code` it designates (usually one; a name
    listed for two stations of one country is ambiguous, like a duplicate station name)."""
    index: dict[str, list[str]] = {}
    for station, names in STATION_ALIASES.get(country_code.upper(), {}).items():
        for name in names:
            index.setdefault(fold(name), []).append(station)
    return {key: tuple(stations) for key, stations in index.items()}


@cache
def alias_groups() -> tuple[tuple[str, ...], ...]:
    """Every station with its other names, folded, as one group per station (for the autocomplete)."""
    return tuple((fold(station), *(fold(n) for n in names))
                 for per_country in STATION_ALIASES.values() for station, names in per_country.items())


# Names the reference system's files spell differently from our factors, its own typos included, so that a
# reference file meets a factor: factor kind → column → our name → the other spellings. A file's value is
# looked up through this (folded, like station names); the entry keeps the text the file gave.
FACTOR_NAME_ALIASES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "equipment": {
        "equipment_class": {
            "Lab Freezer / Fridge": ("Lab Freezer / Frigde",),  # the reference's equipment_other_template.csv
        },
    },
}


@cache
def _factor_name_index(kind: str, column: str) -> dict[str, str]:
    return {fold(other): name for name, others in FACTOR_NAME_ALIASES.get(kind, {}).get(column, {}).items()
            for other in others}


def factor_name(kind: str, column: str, text: str) -> str:
    """The name our factors of `kind` use for a file's `column` value (`text` itself when it has no alias)."""
    return _factor_name_index(kind, column).get(fold(text or ""), text)
