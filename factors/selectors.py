"""Read-side queries on locations: the autocomplete and the station-name matching of CSV imports.

Both compare text folded by the SQL function `location_fold` (migration 0003: lower case, no accents,
punctuation as one space) — the stored `search_text` column on one side and the user's text, folded
by the same function inside the query, on the other — so "ZURICH", "Zürich" and "zurich" are one name.
English and other-language names come from each location's `keywords` and from the curated list in
`factors.aliases` (which also says which station a city's name means).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.postgres.search import TrigramStrictWordSimilarity
from django.db import connection
from django.db.models import Case, F, Func, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Concat

from factors.aliases import alias_groups, fold, station_aliases
from factors.models import Location, TransportMode

__all__ = ["HOME_COUNTRY", "match_station", "match_stations", "search_locations"]

HOME_COUNTRY = "CH"  # the institution's country: its places are listed first
AIRPORT_SIZES = ("large_airport", "medium_airport", "small_airport")  # biggest first; anything else after
MIN_QUERY, MAX_QUERY = 2, 100
_IATA_PREFIX = re.compile(r"[A-Za-z]{2,3}")


def _folded(text: str) -> Func:
    """`text` folded in SQL, the way `search_text` was (a constant the planner folds before using the index)."""
    return Func(Value(text), function="location_fold", output_field=TextField())


def _word_prefix(folded) -> Q:
    """`search_text` has a word starting with `folded` (both LIKE patterns are trigram-indexable)."""
    return (Q(search_text__startswith=folded)
            | Q(search_text__contains=Concat(Value(" "), folded, output_field=TextField())))


def search_locations(mode: str, q: str, limit: int = 20) -> list[Location]:
    """Autocomplete: the locations of `mode` matching `q`, best first, in one query.

    Matches: IATA code (prefix, any case); a word of the folded name, keywords or municipality that
    starts with the query; the same for the other names of a curated station ("munich" → München Hbf;
    "genève" → the airports named "Geneva"); from three letters on, a close word (trigram strict word
    similarity, for typos: "lausane").
    Order: exact IATA code; Switzerland; airport size; match quality (the name itself or the station an
    exact other name designates, then name prefix, word prefix, other name or typo); similarity; name.
    """
    text = " ".join((q or "").replace("\x00", " ")[:MAX_QUERY].split())  # Postgres refuses NUL in text
    key = fold(text)
    if len(key) < MIN_QUERY:  # folded: "g." is one letter
        return []
    folded = _folded(text)
    is_code = bool(_IATA_PREFIX.fullmatch(text))

    # Curated groups (a station and its other names) that the query starts one of; an exact name
    # makes its station a best match ("geneva" → Genève before Genève-Aéroport).
    groups = [group for group in alias_groups() if len(key) >= 3 and any(n.startswith(key) for n in group)]
    exact_group_names = {name for group in groups if key in group for name in group}
    expansions = {name for group in groups for name in group} - {key}

    match = _word_prefix(folded)
    if is_code:
        match |= Q(iata_code__startswith=text.upper())
    if len(key) >= 3:
        # strict: the similar extent must be whole words, so "bale" does not find "…centrale".
        match |= Q(search_text__trigram_strict_word_similar=folded)
    for name in sorted(expansions):
        match |= _word_prefix(_folded(name))

    name_folded = Func(F("name"), function="location_fold", output_field=TextField())
    ranked = (
        Location.objects.filter(match, transport_mode=mode)
        .annotate(
            rank_code=Case(When(iata_code=text.upper(), then=0), default=1) if is_code else Value(1),
            rank_home=Case(When(country_code=HOME_COUNTRY, then=0), default=1),
            rank_size=Case(*(When(airport_size=size, then=i) for i, size in enumerate(AIRPORT_SIZES)),
                           default=len(AIRPORT_SIZES)),
            name_folded=name_folded,
            rank_match=Case(
                When(Q(name_folded=folded) | Q(name_folded__in=sorted(exact_group_names)), then=0),
                When(name_folded__startswith=folded, then=1),
                When(_word_prefix(folded), then=2),
                default=3, output_field=IntegerField()),  # a close word only (typo) or another name
            similarity=TrigramStrictWordSimilarity(folded, "search_text"),
        )
        .order_by("rank_code", "rank_home", "rank_size", "rank_match", "-similarity", "name", "pk")
        .only("id", "transport_mode", "name", "iata_code", "country_code", "municipality")
    )
    return list(ranked[:limit])


# ------------------------------------------------------------------------------- station matching
# Tiers, best first; a name takes the stations of its best tier that has any. Several stations in the
# name or alias tier are an ambiguous name (the importer rejects the row), as duplicate names were
# before; the word tier counts only when it designates a single station.
_EXACT, _ALIAS, _WORD = 0, 1, 2

_MATCH_SQL = """
WITH q(k, cc, folded, tier) AS (
    SELECT k, cc, location_fold(name), tier
    FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[]) AS u(k, cc, name, tier)
), named AS (
    -- name and alias tiers: the (transport_mode, country_code, location_fold(name)) index
    SELECT l.id, l.name, l.country_code, l.latitude, l.longitude, q.k AS match_key, q.tier AS match_tier
    FROM {table} l JOIN q ON l.country_code = q.cc AND location_fold(l.name) = q.folded
    WHERE l.transport_mode = %s AND q.tier < {word}
)
SELECT * FROM named
UNION ALL
-- word tier, only for the names not found above: a whole-word phrase of name, keywords or
-- municipality (the first LIKE uses the trigram index, the second checks word boundaries)
SELECT l.id, l.name, l.country_code, l.latitude, l.longitude, q.k, q.tier
FROM {table} l JOIN q ON l.country_code = q.cc AND l.search_text LIKE '%%' || q.folded || '%%'
     AND ' ' || l.search_text || ' ' LIKE '%% ' || q.folded || ' %%'
WHERE l.transport_mode = %s AND q.tier = {word} AND q.k NOT IN (SELECT match_key FROM named)
ORDER BY id
"""


def match_stations(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Location]]:
    """(country code, station name) → the train stations that name designates in that country, in one
    query; keyed by the pairs as given (name trimmed). Tiers: 1. the station's own name, ignoring case,
    accents and punctuation ("GENEVE" = Genève); 2. a curated other name (`factors.aliases`: "Geneva" →
    Genève, "Zurich" → Zürich HB); 3. a whole-word phrase of the keywords or municipality ("Losanna",
    "Zurich Airport"), only when one station has it. No match = unknown; several = ambiguous."""
    wanted = sorted({(cc, name.strip()) for cc, name in pairs if fold(name)})
    if not wanted:
        return {}
    rows = []  # (key index, country, name to compare, tier)
    for k, (cc, name) in enumerate(wanted):
        rows.append((k, cc.upper(), name, _EXACT))
        rows += [(k, cc.upper(), station, _ALIAS) for station in station_aliases(cc).get(fold(name), ())]
        rows.append((k, cc.upper(), name, _WORD))
    columns = [list(column) for column in zip(*rows, strict=True)]
    sql = _MATCH_SQL.format(table=connection.ops.quote_name(Location._meta.db_table), word=_WORD)
    tiers: dict[int, dict[int, list[Location]]] = defaultdict(lambda: defaultdict(list))
    for loc in Location.objects.raw(sql, [*columns, TransportMode.TRAIN, TransportMode.TRAIN]):
        if loc not in tiers[loc.match_key][loc.match_tier]:
            tiers[loc.match_key][loc.match_tier].append(loc)
    result = {}
    for k, found in tiers.items():
        best = min(found)
        # A keyword a city's stations share ("Paris", "Genf") does not say which one the row means: not
        # a match (unknown, as before keywords were used), where two stations of one name are ambiguous.
        if best != _WORD or len(found[best]) == 1:
            result[wanted[k]] = found[best]
    return result


def match_station(country_code: str, name: str) -> list[Location]:
    """One name: its stations as `match_stations` finds them ([] unknown, one, or several = ambiguous)."""
    return match_stations([(country_code, name)]).get((country_code, name.strip()), [])
