"""Search entries keep a copy of their incident's private flag and start, which the search
filters and orders by. A trigger keeps the copy right on every write to the incident, even one
that skips the model's save (a bulk update, a restore, a fix made in SQL), so a copy can never
lag behind an incident made private."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION search_entries_follow_incident() RETURNS trigger AS $$
BEGIN
    UPDATE search_searchentry SET private = NEW.private, started_at = NEW.started_at
    WHERE incident_id = NEW.id;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER search_entries_follow_incident
AFTER UPDATE OF private, started_at ON incidents_incident
FOR EACH ROW
WHEN (OLD.private IS DISTINCT FROM NEW.private OR OLD.started_at IS DISTINCT FROM NEW.started_at)
EXECUTE FUNCTION search_entries_follow_incident();
"""
POSTGRES_UNDO = """
DROP TRIGGER IF EXISTS search_entries_follow_incident ON incidents_incident;
DROP FUNCTION IF EXISTS search_entries_follow_incident();
"""
SQLITE = """
CREATE TRIGGER search_entries_follow_incident
AFTER UPDATE OF private, started_at ON incidents_incident
FOR EACH ROW WHEN OLD.private IS NOT NEW.private OR OLD.started_at IS NOT NEW.started_at
BEGIN
    UPDATE search_searchentry SET private = NEW.private, started_at = NEW.started_at
    WHERE incident_id = NEW.id;
END;
"""
SQLITE_UNDO = "DROP TRIGGER IF EXISTS search_entries_follow_incident;"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UNDO)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UNDO)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_entries_follow_kinds_and_incidents"),
        ("incidents", "0013_quiet_reminders_go_out_as_deliveries"),
    ]

    operations = [migrations.RunPython(create, drop)]
