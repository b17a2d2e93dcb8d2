"""The contract every recovery method keeps (methods/base.py), run against each one in the
registry: a new method passes these or does not ship. A method's own behaviour (its pages, its
proof) has its own tests; these hold what the rest of the product relies on."""

from __future__ import annotations

import base64
import contextlib
import re
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Event, EventKind
from helpdesk.status import Row, directory
from methods import lifecycle
from methods.authenticator.models import AuthenticatorDevice
from methods.models import (
    AuthenticationEmail,
    AuthenticationPhone,
    OfficePhone,
    SecurityAnswer,
    SecurityQuestion,
    VerificationCode,
)
from methods.passkey.models import Passkey
from methods.questions.answers import hash_answer, normalise
from methods.registry import REGISTRY, UserMethods, statuses
from methods.reset_rule import ResetRule
from tests.support.people import sign_in
from tests.support.registering import prove_with_phone
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db


def _phone(user, n):
    number = f"+4474001{n:05d}"
    AuthenticationPhone.objects.create(user=user, number=number, verified_at=timezone.now())
    return [number, number[3:]]


def _email(user, n):
    address = f"person{n}.home@example.net"
    AuthenticationEmail.objects.create(user=user, email=address, verified_at=timezone.now())
    return [address, f"person{n}.home"]


def _authenticator(user, n):
    device = AuthenticatorDevice.objects.create(user=user, name="app", confirmed=True)
    return [device.bin_key.hex(), base64.b32encode(device.bin_key).decode().rstrip("=")[:16]]


def _passkey(user, n):
    key = Passkey.objects.create(
        user=user, name=f"Secret laptop {n}", credential_id=f"cred-{n}-xyzzy", public_key=b"k"
    )
    return [key.credential_id]


def _questions(user, n):
    secrets = []
    for question in SecurityQuestion.objects.filter(active=True)[:3]:
        answer = f"answer {n} {question.pk} plover"
        stored = hash_answer(normalise(answer))
        SecurityAnswer.objects.create(user=user, question=question, answer_hash=stored)
        secrets += [answer, stored]
    return secrets


def _office(user, n):
    OfficePhone.objects.create(user=user, number=f"+4420718{n:05d}")
    return []  # the directory number is not secret (docs/security.md §20)


# How to give a person each method, directly: one entry per method below, or, for a method in
# a package of its own, that package's `testing.register(user, n)` (methods/recovery_codes).
REGISTER = {
    "phone": _phone,
    "email": _email,
    "authenticator": _authenticator,
    "passkey": _passkey,
    "questions": _questions,
    "office": _office,
}
for _key, _method in REGISTRY.items():
    if _key not in REGISTER:
        _package = type(_method).__module__.rpartition(".")[0]
        with contextlib.suppress(ImportError):
            REGISTER[_key] = import_module(f"{_package}.testing").register

KEYS = list(REGISTRY)


def method_rows(user) -> dict[str, int]:
    """Every row any method's models hold of `user`: each model of a methods app (and each
    model one of them extends) with a relation to the user model."""
    User = get_user_model()
    models = set()
    for config in apps.get_app_configs():
        if config.name == "methods" or config.name.startswith("methods."):
            for model in config.get_models():
                models.update([model, *model._meta.get_parent_list()])
    counts = {}
    for model in models:
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is User:
                rows = model.objects.filter(**{field.name: user}).count()
                counts[f"{model._meta.label}.{field.name}"] = rows
    return counts


@pytest.fixture(autouse=True)
def _everything_on(policy, approved_questions):
    for method in REGISTRY.values():
        policy.set_option(method.key, "enabled", True)
    policy.save()


def test_every_method_is_in_this_suite_and_names_itself_uniquely():
    assert set(REGISTER) == set(REGISTRY), "add REGISTER above, or <package>/testing.py"
    for attribute in ("kind", "slug", "key"):
        values = [str(getattr(method, attribute)) for method in REGISTRY.values()]
        assert len(set(values)) == len(values), attribute
    for method in REGISTRY.values():
        assert method.key.isidentifier() and str(method.label) and str(method.summary)


@pytest.mark.parametrize("key", KEYS)
def test_a_registered_method_counts_for_its_owner_and_in_sql(key, make_user, policy):
    method = REGISTRY[key]
    owner, other = make_user("owner"), make_user("other")
    REGISTER[key](owner, 1)
    assert method.status(UserMethods.load(owner), policy).counts
    assert not method.status(UserMethods.load(other), policy).is_set
    rows = {user.username: user for user in directory(policy)}
    assert getattr(rows["owner"], method.flag_name) == 1
    assert getattr(rows["other"], method.flag_name) == 0
    # Turned off by the policy, it no longer counts anywhere.
    policy.set_option(key, "enabled", False)
    policy.save()
    assert method not in [s.method for s in statuses(UserMethods.load(owner), policy)]
    rows = {user.username: user for user in directory(policy)}
    assert getattr(rows["owner"], method.flag_name) == 0


@pytest.mark.parametrize("key", KEYS)
def test_many_people_cost_the_same_queries_as_one(key, make_user, policy):
    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            [Row.of(user, ResetRule.of(policy)) for user in directory(policy)]
        return len(queries)

    REGISTER[key](make_user("first"), 0)
    one = list_queries()
    for n in range(1, 30):
        REGISTER[key](make_user(f"person{n}"), n)
    assert list_queries() == one


@pytest.mark.parametrize("key", KEYS)
def test_what_others_see_of_it_is_masked(key, make_user, policy, helpdesk_client):
    method = REGISTRY[key]
    owner = make_user("owner")
    secrets = REGISTER[key](owner, 7)
    row = Row.of(directory(policy).get(pk=owner.pk), ResetRule.of(policy))
    shown = {k: masked for k, _label, masked in row.methods}
    assert shown.get(key), "the helpdesk sees that the method is there"
    pages = [
        helpdesk_client.get("/helpdesk/").content.decode(),
        helpdesk_client.get(f"/helpdesk/users/{owner.pk}/").content.decode(),
        b"".join(helpdesk_client.get("/helpdesk/export.csv").streaming_content).decode(),
        str(list(Event.objects.values_list("details", flat=True))),
    ]
    for secret in secrets:
        assert secret not in shown[key]
        for page in pages:
            assert secret not in page, (method.key, secret)


@pytest.mark.parametrize("key", [key for key in KEYS if REGISTRY[key].user_managed])
def test_its_owner_can_open_its_setup_and_remove_it(key, make_user, policy):
    method = REGISTRY[key]
    owner = make_user("owner")
    client = Client()
    sign_in(client, "owner")
    assert client.get(method.setup_url()).status_code == 200
    registered = REGISTER[key](owner, 3)
    remove = f"/ssprsetup/{method.slug}/remove/"
    # Now the owner has a method that proves who they are: the password alone no longer
    # removes anything (methods/proof.py), then a proof with the phone does.
    number = registered[0] if key == "phone" else _phone(owner, 9)[0]
    refused = client.post(remove)
    assert refused["Location"].startswith("/passwordreset/prove/")
    assert method.status(UserMethods.load(owner), policy).is_set
    prove_with_phone(client, number, next_url=remove)
    assert client.post(remove).status_code == 302
    assert not method.status(UserMethods.load(owner), policy).is_set


@pytest.mark.parametrize("key", KEYS)
def test_the_reset_portal_offers_it_to_every_account_alike(key, make_user, settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    method = REGISTRY[key]
    REGISTER[key](make_user("owner"), 5)
    make_user("other")
    pages = {}
    for name in ("owner", "other", "nobody"):
        client = Client()
        start_reset(client, name)
        listing = client.get("/passwordreset/methods/").content.decode()
        assert method.reset_url() in listing
        response = client.get(method.reset_url())
        assert response.status_code == 200
        # The questions asked differ by account (the owner's own, a stable draw for any other
        # name): their words and numbers are left out of the comparison, as in
        # tests/passwordreset/test_enumeration.py.
        body = re.sub(r'<label for="id_answer_\d+">[^<]*</label>', "", response.content.decode())
        body = re.sub(r"answer_\d+", "answer_N", body)
        pages[name] = response.status_code, len(body)
    assert pages["owner"] == pages["other"] == pages["nobody"]


@pytest.mark.parametrize("key", KEYS)
def test_the_admin_shows_it_on_the_persons_page_without_secrets(key, make_user, admin_client):
    method = REGISTRY[key]
    owner = make_user("owner")
    secrets = REGISTER[key](owner, 9)
    page = admin_client.get(f"/admin/auth/user/{owner.pk}/change/").content.decode()
    assert str(method.label).lower() in page.lower()
    if key not in ("phone", "email"):  # the admin sees contact details in full (README)
        for secret in secrets:
            assert secret not in page, (key, secret)


@pytest.mark.parametrize("key", [key for key in KEYS if REGISTRY[key].user_managed])
def test_removing_it_records_the_same_events_the_same_way(key, make_user, policy):
    """methods/lifecycle.py, `removed`: one METHOD_REMOVED naming the method's kind, a new
    session key, a notice to the account's address, and the signal other apps listen to."""
    method = REGISTRY[key]
    owner = make_user("owner", email="owner@example.org")
    client = Client()
    sign_in(client, "owner")
    registered = REGISTER[key](owner, 4)
    number = registered[0] if key == "phone" else _phone(owner, 9)[0]
    prove_with_phone(client, number)
    heard = []

    def listener(sender, **kwargs):
        heard.append((sender, kwargs["method"], kwargs["user"]))

    lifecycle.method_removed.connect(listener)
    try:
        before = client.session.session_key
        mail.outbox.clear()
        assert client.post(f"/ssprsetup/{method.slug}/remove/").status_code == 302
    finally:
        lifecycle.method_removed.disconnect(listener)
    events = Event.objects.filter(kind=EventKind.METHOD_REMOVED, subject=owner)
    assert [event.details for event in events] == [{"method": str(method.kind)}]
    assert client.session.session_key != before
    assert "owner@example.org" in [message.to[0] for message in mail.outbox]
    assert heard == [(type(method), method, owner)]


def test_purge_leaves_no_row_of_any_method(make_user, policy):
    """A leaver past retention (directory/sync.py) loses every method's records, whatever
    methods the registry holds; nobody else loses anything."""
    leaver, stayer = make_user("leaver"), make_user("stayer")
    for n, key in enumerate(KEYS):
        REGISTER[key](leaver, 10 + n)
        REGISTER[key](stayer, 40 + n)
    # A code on its way, and an authenticator app not yet confirmed: pending data goes too.
    VerificationCode.objects.create(
        user=leaver,
        name="p",
        method="authentication_phone",
        purpose="register",
        destination="+447400123999",
    )
    AuthenticatorDevice.objects.create(user=leaver, name="pending", confirmed=False)
    assert sum(method_rows(leaver).values()) > len(KEYS)
    kept = method_rows(stayer)
    had = lifecycle.purge(leaver)
    assert sorted(had) == sorted(str(method.kind) for method in REGISTRY.values())
    assert not any(method_rows(leaver).values()), method_rows(leaver)
    assert method_rows(stayer) == kept
    for method in REGISTRY.values():
        assert not method.status(UserMethods.load(leaver), policy).is_set
