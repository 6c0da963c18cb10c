"""PostgreSQL storage for the daily run's write volume (other databases: nothing to do).

* Rendered editions (tens of KB each) are compressed with lz4: several times cheaper
  to write than the default pglz (when the server has lz4).
* digest_delivery keeps half of each page free (fillfactor 50), so a send's two status
  writes are HOT updates (no index holds the columns they change: see Delivery.Meta).
"""

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


def _fillfactor(schema_editor, value: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE digest_delivery SET (fillfactor = {value})")


def forwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, "lz4")
    _fillfactor(schema_editor, 50)


def backwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, "pglz")
    _fillfactor(schema_editor, 100)


class Migration(migrations.Migration):
    dependencies = [("digest", "0002_fewer_delivery_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
