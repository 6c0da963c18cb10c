"""A GIN index for catalog search on PostgreSQL (digest.web.search): the same expression the
search query builds, so the planner can use it. Nothing on other databases."""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS paper_search ON digest_paper USING gin ("
    "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(abstract, '') "
    "|| ' ' || COALESCE((authors)::text, '')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS paper_search")


class Migration(migrations.Migration):
    dependencies = [("digest", "0007_delivery_claims")]

    operations = [migrations.RunPython(create, drop)]
