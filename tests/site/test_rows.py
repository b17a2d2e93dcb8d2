"""insert_once (sspr_site/rows.py): a row inserted with one statement, or nothing changed when
it is there already; inside a transaction a refused insert leaves the transaction usable."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from registration.models import PreferredLanguage
from sspr_site.rows import insert_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_statement_outside_a_transaction(user):
    with CaptureQueriesContext(connection) as queries:
        assert insert_once(PreferredLanguage, user_id=user.pk, language="de")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert PreferredLanguage.objects.get(user=user).language == "de"


def test_a_row_already_there_is_left_as_it_was(user):
    PreferredLanguage.objects.create(user=user, language="fr", chosen=True)
    assert not insert_once(PreferredLanguage, user_id=user.pk, language="de")
    stored = PreferredLanguage.objects.get(user=user)
    assert (stored.language, stored.chosen) == ("fr", True)


def test_inside_a_transaction_a_refused_insert_breaks_nothing(user, make_user):
    other = make_user("other")
    PreferredLanguage.objects.create(user=user, language="fr")
    with transaction.atomic():
        assert not insert_once(PreferredLanguage, user_id=user.pk, language="de")
        # The transaction goes on: a later statement in it works and commits.
        assert insert_once(PreferredLanguage, user_id=other.pk, language="es")
    assert PreferredLanguage.objects.get(user=other).language == "es"
    assert PreferredLanguage.objects.get(user=user).language == "fr"


def test_another_refusal_is_not_taken_for_a_row_already_there(user):
    """A row that breaks another rule (here: for a person who does not exist) is refused
    loudly, not reported as already there."""
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        insert_once(PreferredLanguage, user_id=user.pk + 1000, language="de")
    assert not PreferredLanguage.objects.exists()
