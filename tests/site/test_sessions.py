"""The session store (sspr_site/sessions.py): a new key at each step passed, the old one dead
in the cache at once and in the database when the session is saved, the session's data carried
over (docs/security.md §23)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from sspr_site.sessions import SessionStore, new_key
from tests.support.people import PASSWORD

# Each store test runs inside a transaction (Django's save, a savepoint) and outside one (the
# plain statements of sspr_site/sessions.py).
IN_AND_OUT = pytest.mark.parametrize(
    "outside",
    [
        pytest.param(False, marks=pytest.mark.django_db),
        pytest.param(True, marks=pytest.mark.django_db(transaction=True)),
    ],
)


def is_outside(outside: bool) -> None:
    from django.db import connection

    assert connection.in_atomic_block is not outside


@IN_AND_OUT
def test_a_new_key_carries_the_data_and_the_old_key_is_gone_everywhere(outside):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    is_outside(outside)
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    old = session.session_key
    assert Session.objects.filter(session_key=old).exists()

    session.cycle_key()
    assert SessionStore(old).load() == {"who": "rita"}  # until saved, the row as it was
    session["step"] = "passed"
    with CaptureQueriesContext(connection) as queries:
        session.save()
    if outside:  # one statement renames the row and writes the new data
        assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
    new = session.session_key
    assert new and new != old
    assert not Session.objects.filter(session_key=old).exists()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    assert cache.get(SessionStore.cache_key_prefix + old) is None
    assert SessionStore(old).load() == {}  # nothing under the old key, from cache or database
    assert SessionStore(new).load() == {"who": "rita", "step": "passed"}
    assert Session.objects.filter(session_key=new).exists()  # written through
    cache.clear()
    assert SessionStore(new).load() == {"who": "rita", "step": "passed"}


@IN_AND_OUT
def test_a_form_sent_twice_gives_each_answer_a_session(outside):
    """Sign in clicked twice: both requests read the same session and both give it a new key.
    The first renames its row; the second finds it gone and writes its own, so whichever
    answer the browser keeps, its cookie opens a session; the old key opens none."""
    is_outside(outside)
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    old = session.session_key
    first, second = SessionStore(old), SessionStore(old)
    for request in (first, second):
        request.load()
        request.cycle_key()
        request["signed_in"] = True
    first.save()
    second.save()  # no error: nothing interrupted
    assert first.session_key != second.session_key
    for request in (first, second):
        assert SessionStore(request.session_key).load() == {"who": "rita", "signed_in": True}
    assert SessionStore(old).load() == {}


@IN_AND_OUT
def test_a_new_key_that_exists_is_not_taken_over(outside, monkeypatch):
    is_outside(outside)
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    session = SessionStore()
    session["who"] = "second"
    session.save()
    old = session.session_key
    keys = iter([taken.session_key, "z" * 32])
    monkeypatch.setattr("sspr_site.sessions.new_key", lambda: next(keys))
    session.cycle_key()
    session.save()
    assert session.session_key == "z" * 32
    assert SessionStore(taken.session_key).load() == {"who": "first"}
    assert SessionStore("z" * 32).load() == {"who": "second"}
    assert not Session.objects.filter(session_key=old).exists()


@IN_AND_OUT
def test_a_session_ended_after_a_new_key_leaves_no_row(outside):
    is_outside(outside)
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    session.cycle_key()
    session.flush()  # signed out in the same request
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_that_fails_after_a_step_leaves_the_session_as_it_was():
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    old = session.session_key
    session.cycle_key()
    session["step"] = "passed"
    # The request fails here: the middleware does not save the session.
    caches[settings.SESSION_CACHE_ALIAS].clear()
    assert SessionStore(old).load() == {"who": "rita"}


def test_the_cookie_from_before_sign_in_no_longer_opens_the_session(client, make_user):
    make_user("sam")
    client.get("/ssprsetup/signin/")
    client.session.save()
    fixed = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post("/ssprsetup/signin/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != fixed
    assert client.get("/ssprsetup/").status_code == 200

    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = fixed
    response = attacker.get("/ssprsetup/")
    assert response.status_code == 302 and "/signin/" in response["Location"]


@IN_AND_OUT
def test_a_key_that_exists_is_never_given_twice(outside, monkeypatch):
    is_outside(outside)
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    keys = iter([taken.session_key, "z" * 32])
    monkeypatch.setattr("sspr_site.sessions.new_key", lambda: next(keys))
    second = SessionStore()
    second["who"] = "second"
    second.save()
    assert second.session_key == "z" * 32
    assert SessionStore(taken.session_key).load() == {"who": "first"}


def test_a_new_key_is_32_characters_each_drawn_evenly():
    """Each character uniform over the 36 Django allows in a key, independently of the others
    (as get_random_string draws them): counted over 3,600 keys, every character at every
    place turns up about as often as any other."""
    from collections import Counter

    from django.contrib.sessions.backends.base import VALID_KEY_CHARS

    keys = [new_key() for _ in range(3600)]
    assert len(set(keys)) == len(keys)
    assert all(len(key) == 32 and set(key) <= set(VALID_KEY_CHARS) for key in keys)
    for place in (0, 15, 31):  # the first, a middle and the last character
        counts = Counter(key[place] for key in keys)
        assert set(counts) == set(VALID_KEY_CHARS)
        # 100 expected each; a fair draw stays well inside 40-160 (p < 1e-8 outside).
        assert all(40 < count < 160 for count in counts.values()), counts
    everywhere = Counter("".join(keys))
    assert all(2800 < count < 3600 for count in everywhere.values()), everywhere  # 3,200 each


@IN_AND_OUT
def test_a_session_is_written_and_read_back_in_and_out_of_a_transaction(outside):
    is_outside(outside)
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    session["who"] = "sam"
    session.save()
    caches[settings.SESSION_CACHE_ALIAS].clear()  # from the database, not the cache
    again = SessionStore(session.session_key)
    assert again.load() == {"who": "sam"}
    row = Session.objects.get(session_key=session.session_key)
    assert abs((row.expire_date - again.get_expiry_date()).total_seconds()) < 5


@IN_AND_OUT
def test_a_session_ended_elsewhere_is_not_written_again(outside):
    """Signed out in another tab while a request was under way: its save is refused (Django's
    middleware answers that the session was interrupted), and nothing is written back."""
    is_outside(outside)
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    SessionStore(session.session_key).delete()
    session["who"] = "sam"
    with pytest.raises(UpdateError):
        session.save()
    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert SessionStore(session.session_key).load() == {}


@pytest.mark.django_db(transaction=True)
def test_a_new_session_is_written_once_to_the_database_and_once_to_the_cache(monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache = caches[settings.SESSION_CACHE_ALIAS]
    writes = []
    original = type(cache).set
    monkeypatch.setattr(
        type(cache),
        "set",
        lambda self, key, *a, **k: writes.append(key) or original(self, key, *a, **k),
    )
    session = SessionStore()
    session["who"] = "rita"
    with CaptureQueriesContext(connection) as queries:
        session.save()
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    assert writes == [SessionStore.cache_key_prefix + session.session_key]
    assert SessionStore(session.session_key).load() == {"who": "rita"}
    cache.clear()
    assert SessionStore(session.session_key).load() == {"who": "rita"}  # from the database


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["abcdefgh\x00ijklmnop", "abcdefgh ijklmnop", "abcdéfghijklmnop"])
def test_a_session_cookie_no_session_of_ours_could_have_is_no_session(key):
    """A NUL in the cookie reached the session table, which PostgreSQL refuses: every page
    answered 500. A key of characters the site never draws is no session, as a short one is."""
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    for page in ("/passwordreset/", "/ssprsetup/", "/helpdesk/"):
        assert client.get(page).status_code < 500
    assert SessionStore(key).session_key is None
