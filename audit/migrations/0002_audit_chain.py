"""The hash chain of history and audit-event rows, and the append-only triggers (see `audit.chain`)."""

from django.db import migrations, models
from django.utils import timezone

from audit.chain import FUNCTIONS_SQL


def install(apps, schema_editor):
    # The live registry on purpose: the triggers go on every history table that exists at this point;
    # `post_migrate` (audit.apps) installs them again after every migrate, for tables created later.
    from audit.chain import install_triggers

    install_triggers(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from audit.chain import DROP_FUNCTIONS_SQL

    schema_editor.execute(DROP_FUNCTIONS_SQL)


class Migration(migrations.Migration):

    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="ChainLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("table_name", models.TextField()),
                ("row_id", models.BigIntegerField()),
                ("row_hash", models.BinaryField()),
                ("prev_hash", models.BinaryField()),
                ("created_at", models.DateTimeField(default=timezone.now)),
            ],
            options={
                "db_table": "audit_chain",
                "indexes": [models.Index(fields=["table_name", "id"], name="audit_chain_walk")],
            },
        ),
        migrations.RunSQL(sql=FUNCTIONS_SQL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(install, uninstall),
    ]
