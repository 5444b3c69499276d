# Location search (issue 9): pg_trgm + unaccent, the IMMUTABLE folding function `location_fold`, the
# generated `search_text` column, a GIN trigram index, and the station-name index on the folded name.

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models

# `unaccent(text)` is STABLE (it reads a dictionary found through search_path), so Postgres refuses it
# in a generated column or an index. This wrapper names the dictionary explicitly and is declared
# IMMUTABLE, the usual idiom. A SQL-standard body (`RETURN`, PostgreSQL >= 14, which Django 5.2 requires)
# is resolved when the function is created, so it works whatever the search_path later (pg_restore).
# Folding: accents off, lower case, every run of non-alphanumerics (spaces, "-", "/", ".") → one space,
# so "Genève-Aéroport" and "geneve aeroport" compare equal. factors.aliases.fold is its Python twin.
CREATE_FOLD = """
CREATE FUNCTION location_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(regexp_replace(lower(unaccent('unaccent'::regdictionary, $1)), '[^[:alnum:]]+', ' ', 'g'));
"""
DROP_FOLD = "DROP FUNCTION location_fold(text);"


class Migration(migrations.Migration):

    dependencies = [
        ('factors', '0002_additionalpurchasefactor_animalfacilityfactor_and_more'),
    ]

    operations = [
        # Both are "trusted" extensions: the database owner may create them without superuser rights.
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunSQL(CREATE_FOLD, DROP_FOLD),
        migrations.RemoveIndex(
            model_name='location',
            name='location_mode_cc_lname_idx',
        ),
        migrations.AddField(
            model_name='location',
            name='search_text',
            field=models.GeneratedField(db_persist=True, expression=models.Func(django.db.models.functions.text.Concat('name', models.Value(' '), 'keywords', models.Value(' '), 'municipality', output_field=models.TextField()), function='location_fold', output_field=models.TextField()), output_field=models.TextField()),
        ),
        migrations.AddIndex(
            model_name='location',
            index=models.Index(models.F('transport_mode'), models.F('country_code'), models.Func('name', function='location_fold'), name='location_mode_cc_fname_idx'),
        ),
        migrations.AddIndex(
            model_name='location',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_text'], name='location_search_trgm_idx', opclasses=['gin_trgm_ops']),
        ),
    ]
