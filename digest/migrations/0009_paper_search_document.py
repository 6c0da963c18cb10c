"""Search on PostgreSQL ranks from a stored, weighted document (title A, abstract B, authors C)
that PostgreSQL keeps up to date itself (a generated column), indexed with GIN: ranking then
reads the stored vector instead of parsing every matching abstract again, which cost ~150 µs a
match. The column is PostgreSQL's alone (digest.web.search reads it by name); other databases
get nothing. It replaces 0008's expression index."""

import importlib

from django.db import migrations

DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(abstract, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE((authors)::text, '')), 'C')"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE digest_paper ADD COLUMN IF NOT EXISTS search_document tsvector "
        f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS paper_search_document ON digest_paper USING gin (search_document)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS paper_search")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    earlier = importlib.import_module("digest.migrations.0008_paper_search_index")
    schema_editor.execute(earlier.INDEX)
    schema_editor.execute("DROP INDEX IF EXISTS paper_search_document")
    schema_editor.execute("ALTER TABLE digest_paper DROP COLUMN IF EXISTS search_document")


class Migration(migrations.Migration):
    dependencies = [("digest", "0008_paper_search_index")]

    operations = [migrations.RunPython(create, drop)]
