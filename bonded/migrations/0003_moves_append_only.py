"""On PostgreSQL the database itself refuses to change or delete a stock move or book entry."""

from django.db import migrations

TABLES = ["bonded_move", "bonded_accountbookentry"]

FUNCTION = """
CREATE OR REPLACE FUNCTION bonded_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: post a correcting entry';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (demo): the models' save()/delete() guards are the protection there
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION bonded_append_only()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS bonded_append_only()")


class Migration(migrations.Migration):
    dependencies = [("bonded", "0002_virtual_locations")]
    operations = [migrations.RunPython(forwards, backwards)]
