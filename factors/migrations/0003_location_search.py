# Location search (issue 9): pg_trgm, the IMMUTABLE folding function `location_fold`, the
# generated `search_text` column, a GIN trigram index, and the station-name index on the folded name.

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from factors.folding import fold_sql_body

# The folding function: lower case, accents off (a translate() table, factors/folding.py — IMMUTABLE, and no
# extension the embedded PostgreSQL lacks), every run of non-alphanumerics (spaces, "-", "/", ".") → one
# space, so "Genève-Aéroport" and "geneve aeroport" compare equal. A SQL-standard body (`RETURN`) is resolved
# when the function is created, so it works whatever the search_path later (pg_restore).
CREATE_FOLD = f"""
CREATE FUNCTION location_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN {fold_sql_body()};
"""
DROP_FOLD = "DROP FUNCTION location_fold(text);"


class Migration(migrations.Migration):

    dependencies = [
        ('factors', '0002_additionalpurchasefactor_animalfacilityfactor_and_more'),
    ]

    operations = [
        # A "trusted" extension: the database owner may create it without superuser rights.
        TrigramExtension(),
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
