"""The person's methods load through a query compiled once per connection
(sspr_site/compiled_query.py): the same row, with the same annotations converted as Django's
own iteration converts them, one query per use, and the SQL built only once."""

from __future__ import annotations

import datetime

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from methods import registry
from methods.models import AuthenticationPhone, MethodChange
from methods.registry import UserMethods, _methods_query, cooling_of_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_user):
    user = make_user("rita")
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    return user


def annotations(row) -> dict:
    names = _methods_query().query.annotations
    return {name: getattr(row, name) for name in names}


def test_the_row_is_the_one_the_orm_gives(person):
    MethodChange.objects.create(
        user=person,
        method="authentication_phone",
        cooling_until=timezone.now() + datetime.timedelta(hours=5),
    )
    expected = _methods_query().filter(pk=person.pk).first()
    loaded = UserMethods.load(person)
    assert loaded.user == expected and loaded.user.username == "rita"
    assert annotations(loaded.user) == annotations(expected)
    ((method, until),) = cooling_of_row(loaded.user)
    assert method.kind == "authentication_phone" and isinstance(until, datetime.datetime)
    assert loaded.records[method.key].number == "+447400123456"


def test_the_methods_query_neither_groups_the_row_nor_sorts(person, make_user):
    """Each method's figures are subqueries of their own rows: no GROUP BY over the person's
    whole row (about 40% of the query's time) and no sort where a MAX will do; the figures read
    as before: the answers counted, the latest cooling-off and the latest app."""
    from methods.models import SecurityAnswer, SecurityQuestion

    text = str(_methods_query().filter(pk=person.pk).query).upper()
    outer = text.rsplit("FROM", 1)[-1]
    assert "GROUP BY" not in outer and "ORDER BY" not in text
    for text in ("A question?", "Another question?"):
        question = SecurityQuestion.objects.create(text=text)
        SecurityAnswer.objects.create(user=person, question=question, answer_hash="x")
    soon, later = (timezone.now() + datetime.timedelta(hours=h) for h in (2, 5))
    for until in (soon, later):
        MethodChange.objects.create(user=person, method="authentication_phone", cooling_until=until)
    loaded = UserMethods.load(person).user
    assert loaded.sspr_answer_count == 2 and loaded.sspr_answers_updated_at is not None
    assert loaded.sspr_cools_phone == later
    assert UserMethods.load(make_user("sam")).user.sspr_answer_count == 0


def test_one_query_loads_every_method_of_a_person(person, django_assert_num_queries):
    """The rows joined to the person come with the row, as with the ORM's own query."""
    with django_assert_num_queries(1):
        loaded = UserMethods.load(person)
        assert [m for m in loaded.records.values() if m is not None][0].number == "+447400123456"


def test_no_one_is_found_for_an_unknown_or_missing_key(person, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert registry._ONE_PERSON.get(person.pk + 1000) is None
    with django_assert_num_queries(1):  # the same query, whether or not anyone is asked for
        assert registry._ONE_PERSON.get(None) is None
    assert UserMethods.load_or_none(None).user is None


def test_the_sql_is_built_once_and_each_use_is_one_query(
    person, monkeypatch, django_assert_num_queries
):
    registry._ONE_PERSON.get(
        person.pk
    )  # compiled here, if no test before did it on this connection
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler, "as_sql", lambda self, *a, **k: built.append(1) or original(self, *a, **k)
    )
    for _ in range(3):
        with django_assert_num_queries(1):
            assert registry._ONE_PERSON.get(person.pk) == person
    assert built == []


def test_a_row_by_several_keys_is_the_one_the_orm_gives(person, django_assert_num_queries):
    """Lookups by other columns than the key (the person's code for a method and a purpose):
    the same row as the ORM's, none for a value no row has, and None matches nothing."""
    from methods.code.flows import _CODE
    from methods.models import MethodKind, Purpose, VerificationCode

    made = {
        purpose: VerificationCode.objects.create(
            user=person, name="phone", method=MethodKind.AUTHENTICATION_PHONE, purpose=purpose
        )
        for purpose in (Purpose.REGISTER, Purpose.RESET)
    }
    for purpose, row in made.items():
        with django_assert_num_queries(1):
            found = _CODE.get(person.pk, MethodKind.AUTHENTICATION_PHONE, purpose)
        assert found == row and found.purpose == purpose and found.user_id == person.pk
        assert found.valid_until == row.valid_until  # converted as the ORM converts it
    assert _CODE.get(person.pk, MethodKind.AUTHENTICATION_EMAIL, Purpose.REGISTER) is None
    assert _CODE.get(person.pk + 1, MethodKind.AUTHENTICATION_PHONE, Purpose.REGISTER) is None
    assert _CODE.get(None, MethodKind.AUTHENTICATION_PHONE, Purpose.REGISTER) is None


def test_keys_it_cannot_place_are_refused(person):
    """A key named twice, a key whose placeholder the query already holds, and a column whose
    values Django converts on the way (a UUID) are refused, never run with a wrong value."""
    from sspr_site.compiled_query import PLACEHOLDER, OneRow

    with pytest.raises(ValueError, match="once"):
        OneRow(type(person).objects.all, "pk", "pk")
    collides = OneRow(lambda: type(person).objects.filter(pk__in=[PLACEHOLDER]))
    with pytest.raises(ValueError, match="once"):
        collides.get(person.pk)
    with pytest.raises(ValueError, match="integer or text"):
        OneRow(MethodChange.objects.all).get("0a5d9962-9648-417c-938e-000000000000")


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_is_refused_outside_a_transaction_on_every_use(person):
    """As Django refuses select_for_update in autocommit, where it would lock nothing: not only
    when the SQL is built, but on each use after it was built inside a transaction."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    from sspr_site.compiled_query import OneRow

    locked = OneRow(lambda: type(person).objects.select_for_update())
    with transaction.atomic():
        assert locked.get(person.pk) == person
    with pytest.raises(TransactionManagementError):
        locked.get(person.pk)


def test_the_signed_in_person_is_read_with_the_compiled_query(person, client):
    """Every request reads its person by the session's id: an account disabled meanwhile is
    signed out at its next request."""
    from sspr_site.compiled_query import active_user

    assert active_user(person.pk) == person and active_user(str(person.pk)) == person
    from tests.support.people import sign_in

    assert sign_in(client, person.username).status_code == 302
    assert client.session["_auth_user_backend"] == "sspr_site.auth_backends.PasswordBackend"
    assert client.get("/ssprsetup/").status_code == 200
    type(person).objects.filter(pk=person.pk).update(is_active=False)
    assert active_user(person.pk) is None
    assert client.get("/ssprsetup/").status_code == 302


def _prepared_statements() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_query_is_planned_once_per_connection(person):
    """A prepared statement of the connection: the database plans it once, not at every use
    (about 1.3 ms of its 1.7 ms), and it gives the same row."""
    from django.db import connection

    expected = _methods_query().filter(pk=person.pk).first()
    for _ in range(3):
        loaded = UserMethods.load(person)
        assert annotations(loaded.user) == annotations(expected)
    assert sum("sspr_cools_phone" in text for text in _prepared_statements()) == 1
    # A new connection prepares it again, on its first use.
    connection.close()
    assert UserMethods.load(person).user.username == "rita"
    assert sum("sspr_cools_phone" in text for text in _prepared_statements()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_can_be_turned_off_for_a_pooler(person, settings):
    """DATABASE_PREPARED_STATEMENTS=0: nothing is prepared (a pooler in transaction mode
    would hand the statement's name to another connection), and the row is the same."""
    from django.db import connection

    connection.close()
    settings.SSPR_DB_PREPARED_STATEMENTS = False
    loaded = UserMethods.load(person)
    assert loaded.records["phone"].number == "+447400123456"
    assert not any("sspr_cools_phone" in text for text in _prepared_statements())
