"""Rendered editions (tens of KB each) are compressed with lz4 on PostgreSQL: several
times cheaper to write than the default pglz. Other databases: nothing to do."""

from django.db import migrations

COLUMNS = ("html", "text")


def _set(apps, schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        if cursor.fetchone() is None:  # a server built without lz4 keeps pglz
            return
    for column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE digest_edition ALTER COLUMN {column} SET COMPRESSION {method}")


def forwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, "lz4")


def backwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [("digest", "0002_fewer_delivery_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
