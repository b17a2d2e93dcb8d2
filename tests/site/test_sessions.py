"""The session store (sspr_site/sessions.py): a new key at each step passed, the old one dead
at once in the database and the cache, the session's data carried over (docs/security.md §23)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from sspr_site.sessions import SessionStore
from tests.conftest import PASSWORD


def test_a_new_key_carries_the_data_and_the_old_key_is_gone_everywhere(db):
    session = SessionStore()
    session["who"] = "rita"
    session.save()
    old = session.session_key
    assert Session.objects.filter(session_key=old).exists()

    session.cycle_key()
    session.save()
    new = session.session_key
    assert new and new != old
    assert not Session.objects.filter(session_key=old).exists()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    assert cache.get(SessionStore.cache_key_prefix + old) is None
    assert SessionStore(old).load() == {}  # nothing under the old key, from cache or database
    assert SessionStore(new).load() == {"who": "rita"}
    assert Session.objects.filter(session_key=new).exists()  # written through


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


def test_a_key_that_exists_is_never_given_twice(db, monkeypatch):
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    keys = iter([taken.session_key, "z" * 32])
    monkeypatch.setattr("sspr_site.sessions.get_random_string", lambda *a, **k: next(keys))
    second = SessionStore()
    second["who"] = "second"
    second.save()
    assert second.session_key == "z" * 32
    assert SessionStore(taken.session_key).load() == {"who": "first"}
