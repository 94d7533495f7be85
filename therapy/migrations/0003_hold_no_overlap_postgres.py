"""On PostgreSQL, the database itself refuses overlapping holds of one course.

An exclusion constraint over (course, [start, end)) needs btree_gist for the equality on
the course id. SQLite has no exclusion constraints: there the services' check under a
row lock on the course is the guard (and the partial unique "one open hold per course").
The constraint is not in the model state on purpose, so SQLite migrations stay valid.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE therapy_hold ADD CONSTRAINT therapy_hold_no_overlap
  EXCLUDE USING gist (
    course_id WITH =,
    daterange(start_date, end_date, '[)') WITH &&
  ) WHERE (entered_in_error_at IS NULL);
"""
DROP = "ALTER TABLE therapy_hold DROP CONSTRAINT IF EXISTS therapy_hold_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("therapy", "0002_regimen_catalogue")]

    operations = [migrations.RunPython(create, drop)]
