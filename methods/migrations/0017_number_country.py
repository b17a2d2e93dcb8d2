"""Each phone's country kept beside its number, so that lists and counts filter by the policy's
countries as the check before every send does (methods/code/models.py `NumberRegionField`).
Existing numbers get theirs here, a thousand rows a statement."""

import methods.code.models
from django.db import migrations


def fill(apps, schema_editor):
    from methods.code.phone_numbers import region_of

    for name in ("AuthenticationPhone", "OfficePhone"):
        model = apps.get_model("methods", name)
        rows = model.objects.filter(country="").values_list("pk", "number").iterator()
        changed = []
        for pk, number in rows:
            country = region_of(number)
            if country:
                changed.append(model(pk=pk, country=country))
            if len(changed) >= 1000:
                model.objects.bulk_update(changed, ["country"])
                changed = []
        if changed:
            model.objects.bulk_update(changed, ["country"])


class Migration(migrations.Migration):

    dependencies = [
        ('methods', '0016_office_phone_history'),
    ]

    operations = [
        migrations.AddField(
            model_name='authenticationphone',
            name='country',
            field=methods.code.models.NumberRegionField(blank=True, db_default='', default='', editable=False, help_text="The number's country.", max_length=2),
        ),
        migrations.AddField(
            model_name='officephone',
            name='country',
            field=methods.code.models.NumberRegionField(blank=True, db_default='', default='', editable=False, help_text="The number's country.", max_length=2),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
