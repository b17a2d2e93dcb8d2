"""A rolling upgrade: a host still on the release before links people without the entry id it
does not know of (README, "Rolling a new version host by host"). The column has a default in
the table itself, as Django's AddField(default=...) alone leaves none."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from directory.models import DirectoryAccount

pytestmark = pytest.mark.django_db


def test_a_host_on_the_release_before_links_a_person_without_the_entry_id(make_user):
    user = make_user("oldhost")
    fields = [
        f
        for f in DirectoryAccount._meta.concrete_fields
        if f.name != "entry_id" and not f.primary_key
    ]
    values = []
    for f in fields:
        if f.name == "user":
            values.append(user.pk)
        elif f.name == "dn":
            values.append("uid=oldhost,ou=people,dc=example,dc=org")
        else:
            values.append(f.get_db_prep_save(f.get_default(), connection))
    table = DirectoryAccount._meta.db_table
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)  # noqa: S608
    except IntegrityError as error:
        pytest.fail(f"the release before cannot link a person: {error}")
    assert DirectoryAccount.objects.get(user=user).entry_id == ""
