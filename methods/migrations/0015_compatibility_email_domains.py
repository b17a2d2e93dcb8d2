"""Addresses stored with a domain in full-width letters (or an ideographic full stop) put in
the canonical form that now folds them (methods/code/email_addresses.py), so that either
spelling typed at the reset portal matches. Only addresses with a character outside ASCII
are read."""

from django.db import migrations


def refold(apps, schema_editor):
    from methods.code.email_addresses import canonical_email

    AuthenticationEmail = apps.get_model("methods", "AuthenticationEmail")
    for pk, email in (
        AuthenticationEmail.objects.filter(email__regex=r"[^\x00-\x7f]")
        .values_list("pk", "email")
        .iterator()
    ):
        canonical = canonical_email(email)
        if canonical != email and len(canonical) <= 254:
            AuthenticationEmail.objects.filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [("methods", "0014_canonical_email_field")]

    operations = [migrations.RunPython(refold, migrations.RunPython.noop)]
