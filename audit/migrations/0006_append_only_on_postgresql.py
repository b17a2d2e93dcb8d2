"""On PostgreSQL the database itself keeps the audit log append-only (docs/security.md,
"Audit log"): no row can be changed, and no row younger than the retention floor can be
deleted, whatever the application's role is allowed. The only change allowed is the one
Django makes when an account is deleted: clearing the actor or subject that pointed to it.
"""

from django.db import migrations

RETENTION_FLOOR_DAYS = 90

CREATE = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.created_at < now() - interval '{RETENTION_FLOOR_DAYS} days' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: rows younger than {RETENTION_FLOOR_DAYS} days cannot be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id = OLD.id
       AND NEW.created_at = OLD.created_at
       AND NEW.kind = OLD.kind
       AND NEW.ip IS NOT DISTINCT FROM OLD.ip
       AND NEW.details = OLD.details
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)
       AND (NEW.subject_id IS NULL OR NEW.subject_id = OLD.subject_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: rows cannot be changed'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_delivery_failed_kind")]

    operations = [migrations.RunPython(forwards, backwards)]
