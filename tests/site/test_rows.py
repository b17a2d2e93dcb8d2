"""insert_once (sspr_site/rows.py): a row inserted with one statement, or nothing changed when
it is there already; inside a transaction a refused insert leaves the transaction usable."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from registration.models import PreferredLanguage
from sspr_site.rows import insert_once

pytestmark = pytest.mark.django_db(transaction=True)


class LanguageWithItsOwnSave(PreferredLanguage):
    """The same table, with a save() of its own: Insert leaves it to Django."""

    class Meta:
        proxy = True
        app_label = "registration"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)


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


# --- Insert: a create whose SQL is built once -------------------------------------------------


def _stored(model, pk) -> dict:
    return model.objects.filter(pk=pk).values().get()


def test_insert_stores_what_djangos_create_stores(user, make_user):
    from audit.models import Event, EventKind
    from sspr_site.rows import Insert

    other = make_user("other")
    values = {
        "kind": EventKind.CODE_SENT,
        "actor": user,
        "subject": other,
        "ip": "2001:db8::1",
        "details": {"method": "authentication_phone", "count": 2},
    }
    with CaptureQueriesContext(connection) as queries:
        event = Insert(Event).create(**values)
        again = Insert(Event).create(**values)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "INSERT"]
    by_django = Event.objects.create(**values)
    assert event.pk and again.pk == event.pk + 1 and not event._state.adding
    mine, django_s = _stored(Event, event.pk), _stored(Event, by_django.pk)
    for row in (mine, django_s):
        row.pop("id")
        assert row.pop("created_at") is not None
    assert mine == django_s
    assert mine["details"] == {"method": "authentication_phone", "count": 2}
    assert event.created_at == Event.objects.get(pk=event.pk).created_at


def test_insert_of_a_model_whose_key_is_not_the_databases(user):
    """A change of methods has a random key of its own: it is written with the row."""
    from methods.models import MethodChange
    from sspr_site.rows import Insert

    change = Insert(MethodChange).create(user=user, method="passkey", action="added")
    stored = MethodChange.objects.get(pk=change.pk)
    assert (stored.user_id, stored.method, stored.action) == (user.pk, "passkey", "added")
    assert stored.created_at == change.created_at


def test_insert_is_undone_with_its_transaction(user):
    from audit.models import Event, EventKind
    from sspr_site.rows import Insert

    with pytest.raises(RuntimeError), transaction.atomic():
        Insert(Event).create(kind=EventKind.SIGNED_IN, subject=user)
        raise RuntimeError("the step failed")
    assert not Event.objects.exists()


def test_insert_tells_the_models_receivers_as_djangos_save_does(user):
    """pre_save before the values are taken (a receiver's change is stored), post_save once
    the row has its key; a row not written (unless_there, one there) is not saved."""
    from django.db.models.signals import post_save, pre_save

    from methods.code.models import VerificationCode
    from sspr_site.rows import Insert

    heard = []

    def before(sender, instance, raw, using, update_fields, **kwargs):
        heard.append(("pre", instance.pk, raw, using, update_fields))
        instance.destination = "+447400999999"  # a receiver's change

    def after(sender, instance, created, raw, using, update_fields, **kwargs):
        heard.append(("post", instance.pk, created, raw, using, update_fields))

    pre_save.connect(before, sender=VerificationCode)
    post_save.connect(after, sender=VerificationCode)
    try:
        first = Insert(VerificationCode, unless_there=True)
        with CaptureQueriesContext(connection) as queries:
            code = first.create(user=user, method="authentication_phone", purpose="register")
            again = first.create(user=user, method="authentication_phone", purpose="register")
    finally:
        pre_save.disconnect(before, sender=VerificationCode)
        post_save.disconnect(after, sender=VerificationCode)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "INSERT"]
    assert again is None
    assert heard == [
        ("pre", None, False, "default", None),
        ("post", code.pk, True, False, "default", None),
        ("pre", None, False, "default", None),
    ]
    assert VerificationCode.objects.get(pk=code.pk).destination == "+447400999999"


def test_insert_with_a_key_given_writes_that_key(user):
    from audit.models import Event, EventKind
    from sspr_site.rows import Insert

    event = Insert(Event).create(pk=4242, kind=EventKind.SIGNED_IN, subject=user)
    assert event.pk == 4242 and Event.objects.get(pk=4242).subject_id == user.pk


def test_insert_refuses_an_unsaved_person_as_save_does(user):
    from django.contrib.auth import get_user_model

    from audit.models import Event, EventKind
    from sspr_site.rows import Insert

    with pytest.raises(ValueError, match="unsaved related object"):
        Insert(Event).create(kind=EventKind.SIGNED_IN, subject=get_user_model()(username="x"))
    assert not Event.objects.exists()


# --- Values: a values_list read whose SQL is built once ---------------------------------------


def test_values_reads_the_rows_of_the_key_as_django_does(user, make_user):
    from methods.models import MethodChange
    from sspr_site.compiled_query import Values

    other = make_user("other")
    for who, method in ((user, "passkey"), (user, "authentication_email"), (other, "passkey")):
        MethodChange.objects.create(user=who, method=method, action="added")
    columns = ("pk", "method", "created_at", "cooling_until")
    changes = Values(lambda: MethodChange.objects.values_list(*columns), "user")
    for who in (user, other):
        expected = list(MethodChange.objects.filter(user=who).values_list(*columns))
        with CaptureQueriesContext(connection) as queries:
            assert sorted(changes.all(who.pk)) == sorted(expected)
        assert len(queries.captured_queries) == 1
    assert changes.all(None) == []
    assert changes.all(other.pk + 1000) == []


def test_values_refuses_a_query_of_model_instances():
    from methods.models import MethodChange
    from sspr_site.compiled_query import Values

    with pytest.raises(ValueError, match="values_list"):
        Values(MethodChange.objects.all, "user").all(1)


# --- Update: a filtered update whose statement is written once --------------------------------


def _codes(user, make_user):
    from methods.models import MethodKind, Purpose, VerificationCode

    other = make_user("other")
    return [
        VerificationCode.objects.create(
            user=who,
            method=MethodKind.AUTHENTICATION_PHONE,
            purpose=Purpose.REGISTER,
            token="a-token",
            attempts=2,
        )
        for who in (user, other)
    ]


def test_update_changes_the_row_with_these_keys_as_djangos_update_does(user, make_user):
    import datetime

    from django.utils import timezone

    from methods.models import VerificationCode
    from sspr_site.rows import Update

    mine, theirs = _codes(user, make_user)
    used_up = Update(VerificationCode, ("pk", "token"), ("token", "valid_until", "attempts"))
    when = timezone.now() + datetime.timedelta(minutes=3)
    with CaptureQueriesContext(connection) as queries:
        assert used_up.update(mine.pk, "a-token", token=None, valid_until=when, attempts=0) == 1
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    # The same key again finds no row: the token it was matched on is gone.
    assert used_up.update(mine.pk, "a-token", token=None, valid_until=when, attempts=0) == 0
    mine.refresh_from_db()
    assert (mine.token, mine.valid_until, mine.attempts) == (None, when, 0)
    theirs.refresh_from_db()
    assert (theirs.token, theirs.attempts) == ("a-token", 2)
    # Django's own update of the other row stores the same.
    VerificationCode.objects.filter(pk=theirs.pk, token="a-token").update(
        token=None, valid_until=when, attempts=0
    )
    theirs.refresh_from_db()
    assert (theirs.token, theirs.valid_until, theirs.attempts) == (None, when, 0)


def test_update_with_a_key_of_none_changes_nothing(user, make_user):
    from methods.models import VerificationCode
    from sspr_site.rows import Update

    mine, _theirs = _codes(user, make_user)
    VerificationCode.objects.filter(pk=mine.pk).update(token=None)
    assert Update(VerificationCode, ("token",), ("attempts",)).update(None, attempts=9) == 0
    assert not VerificationCode.objects.filter(attempts=9).exists()


def test_update_is_undone_with_its_transaction(user, make_user):
    from methods.models import VerificationCode
    from sspr_site.rows import Update

    mine, _theirs = _codes(user, make_user)
    with pytest.raises(RuntimeError), transaction.atomic():
        Update(VerificationCode, ("pk",), ("attempts",)).update(mine.pk, attempts=9)
        raise RuntimeError("the step failed")
    mine.refresh_from_db()
    assert mine.attempts == 2


def test_update_wants_every_key_and_field_once():
    from methods.models import VerificationCode
    from sspr_site.rows import Update

    attempts = Update(VerificationCode, ("pk",), ("attempts",))
    with pytest.raises(TypeError):
        attempts.update(1)
    with pytest.raises(TypeError):
        attempts.update(1, attempts=0, token=None)
    with pytest.raises(ValueError):
        Update(VerificationCode, ("pk",), ("id",))


def test_insert_leaves_an_expression_to_django(user):
    from django.db.models import Value

    from audit.models import Event, EventKind
    from sspr_site.rows import Insert

    event = Insert(Event).create(kind=Value(EventKind.SIGNED_IN.value), subject=user)
    assert Event.objects.get(pk=event.pk).kind == EventKind.SIGNED_IN


def test_update_refuses_a_relation_or_a_parents_column():
    from django.contrib.auth.models import User

    from methods.models import VerificationCode
    from sspr_site.rows import Update

    with pytest.raises(ValueError):
        Update(VerificationCode, ("pk",), ("user",))
    assert Update(VerificationCode, ("user", "method"), ("attempts",))  # a key may be one
    with pytest.raises(ValueError):
        Update(User, ("pk",), ("username", "username"))


def test_what_was_compiled_goes_with_its_connection(user):
    """Kept on the connection itself: a thread's connection, and all compiled for it, is freed
    when the thread ends, though the compiled parts refer back to it."""
    import gc
    import threading
    import weakref

    from django.db import connections

    from audit.models import Event
    from methods import registry
    from methods.not_me import _CHANGES_OF
    from sspr_site.rows import Insert

    gone = []

    def in_a_thread():
        own = connections["default"]
        registry._ONE_PERSON._compile(own)
        _CHANGES_OF._compile(own)
        Insert(Event)._compile(own)
        assert len(own._sspr_compiled) == 3
        gone.append(weakref.ref(own))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    gc.collect()
    assert gone and gone[0]() is None


# --- Insert(..., unless_there=True): a row that is there already is left as it is ------------


def _code_row(user, **values):
    from methods.code.models import VerificationCode
    from sspr_site.rows import Insert

    fields = {"user": user, "method": "authentication_phone", "purpose": "register"}
    return Insert(VerificationCode, unless_there=True).create(
        **fields, name="authentication_phone", **values
    )


def test_insert_unless_there_in_a_transaction_needs_no_savepoint(user, make_user):
    from methods.code.models import VerificationCode

    other = make_user("other")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first = _code_row(user, destination="+447400900001")
        assert _code_row(user, destination="+447400900002") is None
        # The transaction goes on: a later row in it is written and commits with it.
        assert _code_row(other) is not None
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"] * 3
    assert first.pk and not first._state.adding
    stored = VerificationCode.objects.get(user=user)
    assert (stored.pk, stored.destination) == (first.pk, "+447400900001")
    assert VerificationCode.objects.filter(user=other).exists()


def test_insert_unless_there_left_to_django_gives_the_same_answers(user, make_user):
    """A model with a save() of its own is written by Django, in a savepoint inside a
    transaction, with the same answers."""
    from sspr_site.rows import Insert

    other = make_user("other")
    language = Insert(LanguageWithItsOwnSave, unless_there=True)
    with transaction.atomic():
        assert language.create(user_id=user.pk, language="fr").pk == user.pk
        assert language.create(user_id=user.pk, language="de") is None
        assert language.create(user_id=other.pk, language="es").language == "es"
    assert PreferredLanguage.objects.get(user=user).language == "fr"
    assert PreferredLanguage.objects.get(user=other).language == "es"


def test_insert_unless_there_refuses_loudly_what_breaks_another_rule(user):
    from django.db import IntegrityError

    from methods.code.models import VerificationCode

    with pytest.raises(IntegrityError):
        _code_row(type(user)(pk=user.pk + 1000))  # a person who does not exist
    assert not VerificationCode.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "pooler"])
def test_on_postgresql_the_statements_built_once_are_prepared(user, settings, prepared):
    """Planned once per connection, like the queries of sspr_site/compiled_query.py; not at
    all with DATABASE_PREPARED_STATEMENTS=0 (a pooler in transaction mode)."""
    from audit.models import Event, EventKind
    from methods.code.models import _ISSUED, VerificationCode
    from sspr_site.rows import Insert
    from sspr_site.sessions import SessionStore

    connection.close()
    settings.SSPR_DB_PREPARED_STATEMENTS = prepared
    for _ in range(2):
        Insert(Event).create(kind=EventKind.SIGNED_IN, subject=user)
    code = VerificationCode.objects.create(user=user, method="authentication_phone")
    assert _ISSUED.update(code.pk, **{name: getattr(code, name) for name in _ISSUED.names}) == 1
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    session.cycle_key()
    session.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [statement for (statement,) in cursor.fetchall()]
    wanted = [
        'INSERT INTO "audit_event"',
        'UPDATE "methods_verificationcode"',
        'INSERT INTO "django_session"',
        'UPDATE "django_session"',
    ]
    for start in wanted:
        found = [text for text in statements if text.startswith(start)]
        assert len(found) == (1 if prepared else 0), (start, statements)
    assert Event.objects.filter(subject=user).count() == 2
    assert SessionStore(session.session_key).load() == {"who": "rita"}


def test_insert_unless_there_refuses_a_missing_value_as_django_does(user):
    """Only a taken unique key is passed over: a row missing a required value is refused
    loudly on every database (SQLite's INSERT OR IGNORE would have passed over it)."""
    from django.db import IntegrityError

    from methods.code.models import VerificationCode
    from sspr_site.rows import Insert

    with pytest.raises(IntegrityError):
        Insert(VerificationCode, unless_there=True).create(
            user=user, method="authentication_phone", purpose=None
        )
    assert not VerificationCode.objects.exists()


def test_a_phone_is_written_in_one_statement_with_its_country(make_user):
    """A phone's country has a default of its own beside the database's: the INSERT built once
    writes it, with no savepoint inside the confirmation's transaction, and stores what
    Django's create stores (a Jersey number under +44 keeps JE)."""
    from methods.code.models import AuthenticationPhone
    from sspr_site.rows import Insert

    first, person = Insert(AuthenticationPhone, unless_there=True), make_user("jersey")
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        phone = first.create(user=person, number="+447797900000")
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements.count("INSERT") == 1
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    by_django = AuthenticationPhone.objects.create(user=make_user("also"), number="+447797900000")
    assert _stored(AuthenticationPhone, phone.pk)["country"] == "JE"
    assert _stored(AuthenticationPhone, by_django.pk)["country"] == "JE"
