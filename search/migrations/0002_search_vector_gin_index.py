from django.db import migrations

# The GIN index exists on PostgreSQL only: the embedded SQLite has no tsvector and searches
# the blocks' own text instead (search.queries.search_fallback).
CREATE = "CREATE INDEX IF NOT EXISTS search_entry_vector_gin ON search_searchentry USING gin (vector)"
DROP = "DROP INDEX IF EXISTS search_entry_vector_gin"


def run(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_entries")]
    operations = [migrations.RunPython(run(CREATE), run(DROP))]
