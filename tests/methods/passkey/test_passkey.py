"""Passkeys: registered from /ssprsetup/passkey/ with user verification, named, several
allowed; proof at /passwordreset/passkey/ with a fresh challenge, a moving signature counter
and the site's origin; the same page for every account; alone enough for an administrator
only when the policy says so. The browser side is tested in tests/e2e/test_new_methods.py."""

from __future__ import annotations

import json
import re

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import Event, EventKind
from methods.passkey.models import Passkey
from tests.support.at_once import another_window
from tests.support.people import sign_in
from tests.support.resets import shows_finish_page, start_reset, without_tokens
from tests.support.soft_key import SoftKey

pytestmark = pytest.mark.django_db

SETUP = "/ssprsetup/passkey/"
RESET = "/passwordreset/passkey/"


def options_in(page: str) -> dict:
    block = re.search(r'<script id="passkey-options" type="application/json">(.*?)</script>', page)
    return json.loads(block.group(1))


def add_key(client: Client, key: SoftKey, name="Laptop", **answer):
    options = options_in(client.get(SETUP).content.decode())
    return client.post(SETUP, {"name": name, "credential": key.create(options, **answer)})


@pytest.fixture
def rita_key(make_user, client):
    user = make_user("rita")
    sign_in(client, "rita")
    key = SoftKey()
    assert add_key(client, key).status_code == 302
    client.logout()
    return user, key


def test_the_setup_page_asks_for_a_verified_discoverable_key_without_inline_script(signed_in):
    page = signed_in.get(SETUP).content.decode()
    options = options_in(page)
    assert options["rp"]["id"] == "localhost"  # SSPR_SITE_URL's host
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert "alice" not in options["user"]["id"]  # an opaque handle, not the username
    assert re.findall(r"<script(?![^>]*(?:src=|application/json))", page) == []
    assert "This method needs JavaScript" in page  # in <noscript>


def test_without_javascript_nothing_is_saved_and_the_page_says_why(signed_in, user):
    response = signed_in.post(SETUP, {"name": "Laptop", "credential": ""})
    assert "This method needs JavaScript" in response.content.decode()
    assert not Passkey.objects.exists()


def test_a_key_is_added_named_and_counted(signed_in, user):
    key = SoftKey()
    response = add_key(signed_in, key, name="Work laptop")
    assert response.status_code == 302
    stored = Passkey.objects.get(user=user)
    assert stored.name == "Work laptop" and stored.sign_count == 0
    overview = signed_in.get("/ssprsetup/").content.decode()
    card = overview.split("<h2>Passkey or security key</h2>")[1].split("</li>")[0]
    assert "Verified" in card and "1 passkey" in card
    event = Event.objects.get(kind=EventKind.METHOD_VERIFIED, subject=user)
    assert event.details == {"method": "passkey"}
    # A second key, and the first cannot be added twice.
    assert add_key(signed_in, SoftKey(), name="Phone").status_code == 302
    again = add_key(signed_in, key, name="Again")
    assert again.status_code == 400 and "Nothing was saved" in again.content.decode()
    assert Passkey.objects.filter(user=user).count() == 2


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"verified": False}, "no user verification"),
        ({"origin": "https://sspr.example.evil"}, "another site's page"),
    ],
)
def test_a_key_that_does_not_answer_as_required_is_refused(signed_in, user, answer, why):
    response = add_key(signed_in, SoftKey(), **answer)
    assert response.status_code == 400, why
    assert "Nothing was saved" in response.content.decode()
    assert not Passkey.objects.exists()


def test_an_answer_is_good_for_one_challenge_only(signed_in, user):
    """A page opened again meanwhile (another tab, a reload) leaves the first page's challenge
    good: its answer adds the key. Sent again, it is refused, and so is an answer to a page
    older than the four newest."""
    key = SoftKey()
    options = options_in(signed_in.get(SETUP).content.decode())
    answer = key.create(options)
    signed_in.get(SETUP)  # another tab
    assert signed_in.post(SETUP, {"name": "Laptop", "credential": answer}).status_code == 302
    again = signed_in.post(SETUP, {"name": "Desk", "credential": answer})
    assert again.status_code == 400 and Passkey.objects.count() == 1

    oldest = options_in(signed_in.get(SETUP).content.decode())
    for _ in range(4):
        signed_in.get(SETUP)
    late = signed_in.post(SETUP, {"name": "Desk", "credential": SoftKey().create(oldest)})
    assert late.status_code == 400 and Passkey.objects.count() == 1


def test_a_second_tab_at_reset_leaves_the_first_tabs_passkey_good(client, rita_key):
    """The passkey page of a reset opened again (another tab, a reload) before the key answers
    in the first: the first tab's answer passes, and no try is spent on it."""
    _user, key = rita_key
    start_reset(client, "rita")
    first = options_in(client.get(RESET).content.decode())
    client.get(RESET)
    assert shows_finish_page(client.post(RESET, {"credential": key.get(first)}))
    assert not Event.objects.filter(kind=EventKind.RESET_METHOD_FAILED).exists()


@pytest.mark.parametrize("again", [" work LAPTOP ", "Work\u200b laptop", "Ｗｏｒｋ laptop"])
def test_a_name_already_taken_is_refused_next_to_its_field(signed_in, user, again):
    """However it is typed: other capitals, an invisible character, full-width letters."""
    add_key(signed_in, SoftKey(), name="Work laptop")
    page = add_key(signed_in, SoftKey(), name=again)
    text = page.content.decode()
    assert page.status_code == 200
    assert "You already have a key named “" in text
    assert 'aria-invalid="true"' in text and 'name="name"' in text
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Work laptop"]


def test_a_name_is_kept_without_invisible_characters(signed_in, user):
    add_key(signed_in, SoftKey(), name="Desk\u200b key")
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Desk key"]
    assert add_key(signed_in, SoftKey(), name="\u200b").status_code == 200
    assert Passkey.objects.count() == 1


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Laptop\nIT support: ignore this", "Laptop IT support: ignore this"),
        ("Desk\x1b[2Jkey", "Desk [2Jkey"),
        ("Desk\u2028key", "Desk key"),
        ("Desk   key", "Desk key"),
    ],
)
def test_a_name_is_kept_on_one_line_in_the_key_notice(signed_in, user, typed, kept):
    """A line break or another control character in a name is a space: the name goes into the
    notice's plain text, where it must not read as the site's own next line."""
    from django.core import mail

    assert add_key(signed_in, SoftKey(), name=typed).status_code == 302
    assert list(Passkey.objects.values_list("name", flat=True)) == [kept]
    notice = mail.outbox[-1].body
    assert kept in notice and "\nIT support" not in notice and "\x1b" not in notice


@pytest.mark.parametrize(
    "filler",
    # Assigned, and (the last three) not yet assigned: browsers draw neither.
    ["\u3164", "\u034f", "\ufe0f", "\u115f", "\uffa0", "\u2065", "\ufff0", "\U000e0080"],
)
def test_a_name_told_apart_only_by_an_invisible_character_is_taken(signed_in, user, filler):
    """A second key must not look exactly like one there (which the owner, removing the one
    they do not know, could not tell apart), nor a name like none."""
    add_key(signed_in, SoftKey(), name="Laptop")
    assert add_key(signed_in, SoftKey(), name=f"Laptop{filler}").status_code == 200
    assert add_key(signed_in, SoftKey(), name=filler * 2).status_code == 200
    assert add_key(signed_in, SoftKey(), name="\u2800").status_code == 200
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Laptop"]


def test_a_credential_id_longer_than_webauthn_allows_is_refused(signed_in, user):
    """Longer than 1,023 bytes: refused as any answer that is not as required, nothing kept
    (before, it was said added, and a key its id cut short at reset could never prove)."""

    class LongIdKey(SoftKey):
        def __init__(self):
            super().__init__()
            self.credential_id = bytes(range(256)) * 4 + b"!"  # 1,025 bytes

    answer = add_key(signed_in, LongIdKey())
    assert answer.status_code == 400 and "Nothing was saved" in answer.content.decode()
    assert not Passkey.objects.exists()


def test_a_key_removed_already_in_another_tab_is_said(signed_in, user):
    add_key(signed_in, SoftKey(), name="Tablet")
    key = Passkey.objects.get()
    signed_in.post(f"{SETUP}{key.pk}/remove/")
    page = signed_in.post(f"{SETUP}{key.pk}/remove/", follow=True).content.decode()
    assert "That key was removed already, so there was nothing to remove." in page
    assert Event.objects.filter(kind=EventKind.METHOD_REMOVED).count() == 1


def test_removing_one_key_keeps_the_others(signed_in, user):
    """The notices say what happened to which key: another added beside the first, one of
    them removed with the other kept, then the last removed."""
    from django.core import mail

    add_key(signed_in, SoftKey(), name="One")
    add_key(signed_in, SoftKey(), name="Two")
    first = Passkey.objects.get(name="One")
    signed_in.post(f"{SETUP}{first.pk}/remove/")
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Two"]
    assert Event.objects.filter(kind=EventKind.METHOD_REMOVED, subject=user).exists()
    signed_in.post(f"{SETUP}{Passkey.objects.get().pk}/remove/")
    told = [message.body for message in mail.outbox if user.email in message.to]
    assert "Passkey or security key: added (One)" in told[0]
    assert "Passkey or security key: another key added (Two)" in told[1]
    assert "Passkey or security key: one key removed, others kept (One)" in told[2]
    assert "Passkey or security key: removed (Two)" in told[3]


def reset_with(client: Client, key: SoftKey, username="rita", **answer):
    start_reset(client, username)
    options = options_in(client.get(RESET).content.decode())
    assert options.get("allowCredentials", []) == []  # no list of keys, for anyone
    return client.post(RESET, {"credential": key.get(options, **answer)})


def test_reset_with_a_passkey(client, rita_key):
    user, key = rita_key
    response = reset_with(client, key)
    assert shows_finish_page(response)
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    stored = Passkey.objects.get()
    assert stored.sign_count == 1 and stored.last_used_at is not None


@pytest.mark.parametrize(
    "answer",
    [{"verified": False}, {"origin": "https://sspr.example.evil"}, {"counter": 0}],
    ids=["no user verification", "phishing origin", "counter went back"],
)
def test_a_bad_assertion_is_refused(client, rita_key, answer):
    user, key = rita_key
    if answer.get("counter") == 0:
        reset_with(client, key)  # the counter is at 1 now; 0 would be a copied key
    response = reset_with(Client(), key, **answer)
    assert response.status_code == 200
    assert "We could not verify you" in response.content.decode()


def test_another_persons_key_does_not_prove_this_account(client, rita_key, make_user):
    _user, key = rita_key
    make_user("sam")
    response = reset_with(client, key, username="sam")
    assert "We could not verify you" in response.content.decode()


def test_every_account_gets_the_same_page_and_queries(rita_key, make_user):
    _user, key = rita_key
    make_user("sam")
    pages, counts = {}, {}
    for name in ("rita", "sam", "nobody-here"):
        client = Client()
        start_reset(client, name)
        first = client.get(RESET).content.decode()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(RESET, {"credential": SoftKey().get(options_in(first))})
        text = response.content.decode()
        text = without_tokens(text)
        text = re.sub(r'"challenge": "[^"]+"', "", text)
        pages[name], counts[name] = text, len(queries)
    assert pages["rita"] == pages["sam"] == pages["nobody-here"]
    assert counts["rita"] == counts["sam"] == counts["nobody-here"]


def test_an_administrator_needs_the_policy_to_let_a_passkey_stand_alone(client, make_user, policy):
    admin = make_user("root", staff=True)
    sign_in(client, "root")
    key = SoftKey()
    add_key(client, key)
    client.logout()
    reset_with(client, key, username="root")
    assert client.get("/passwordreset/methods/").status_code == 200  # one more needed
    policy.set_option("passkey", "privileged_alone", True)
    policy.save()
    other = Client()
    reset_with(other, key, username="root")
    assert other.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    # The same key does not stand alone for a person who is not an administrator's equal:
    # the policy's option is about privileged accounts only.
    admin.is_staff = False
    admin.save()
    policy.reset_methods_required = 2
    policy.save()
    third = Client()
    reset_with(third, key, username="root")
    assert third.get("/passwordreset/methods/").status_code == 200  # one more needed


def test_the_helpdesk_sees_how_many_keys_and_nothing_of_them(helpdesk_client, rita_key):
    user, _key = rita_key
    stored = Passkey.objects.get()
    listing = helpdesk_client.get("/helpdesk/").content.decode()
    assert "Passkey or security key: 1 passkey" in listing
    detail = helpdesk_client.get(f"/helpdesk/users/{user.pk}/").content.decode()
    export = b"".join(helpdesk_client.get("/helpdesk/export.csv").streaming_content).decode()
    for text in (listing, detail, export):
        assert stored.credential_id not in text and "Laptop" not in text
    assert export.splitlines()[0].split(",").count("passkey") == 1


class OddKey(SoftKey):
    """A key whose registration carries the given COSE public key instead of its own."""

    def __init__(self, cose: bytes):
        super().__init__()
        self.cose = cose

    def _cose(self) -> bytes:
        return self.cose


def _ec2(alg: int, x: bytes, y: bytes, crv: int = 1) -> bytes:
    return cbor2.dumps({1: 2, 3: alg, -1: crv, -2: x, -3: y})


def _good_point() -> tuple[bytes, bytes]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")


ODD_KEYS = {
    "a list, not a map": lambda: cbor2.dumps([1, 2, 3, -7, -1, 1, -2, -3]),
    "a short list": lambda: cbor2.dumps([2]),
    "a string": lambda: cbor2.dumps("key"),
    "a map without its parts": lambda: cbor2.dumps({1: 2, 3: -7}),
    "an EC2 point off the curve": lambda: _ec2(-7, _good_point()[0], bytes(31) + b"\x01"),
    "an EC2 key labelled EdDSA": lambda: _ec2(-8, *_good_point()),
    "an ES256 key on P-384": lambda: _ec2(-7, *_good_point(), crv=2),
    "an RSA key of one byte": lambda: cbor2.dumps(
        {1: 3, 3: -257, -1: b"\xfb", -2: b"\x01\x00\x01"}
    ),
    "an RSA key of 1,024 bits": lambda: cbor2.dumps(
        {
            1: 3,
            3: -257,
            -1: rsa.generate_private_key(65537, 1024)
            .public_key()
            .public_numbers()
            .n.to_bytes(128, "big"),
            -2: b"\x01\x00\x01",
        }
    ),
}


@pytest.mark.parametrize("kind", list(ODD_KEYS))
def test_a_public_key_that_could_never_verify_is_refused_and_nothing_is_kept(signed_in, user, kind):
    response = add_key(signed_in, OddKey(ODD_KEYS[kind]()))
    assert response.status_code == 400, kind
    page = response.content.decode()
    assert "Nothing was saved" in page
    if kind not in ("a short list", "a string", "a map without its parts"):  # unreadable
        assert "cannot be used to check its signatures" in page
    assert not Passkey.objects.exists()
    overview = signed_in.get("/ssprsetup/").content.decode()
    card = overview.split("<h2>Passkey or security key</h2>")[1].split("</li>")[0]
    assert "1 passkey" not in card and "Verified" not in card
    assert not Event.objects.filter(kind=EventKind.METHOD_VERIFIED, subject=user).exists()


def test_an_rsa_key_of_2048_bits_and_an_ed25519_key_are_kept(signed_in, user):
    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    cose = cbor2.dumps({1: 3, 3: -257, -1: numbers.n.to_bytes(256, "big"), -2: b"\x01\x00\x01"})
    assert add_key(signed_in, OddKey(cose), name="RSA").status_code == 302
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    cose = cbor2.dumps({1: 1, 3: -8, -1: 6, -2: raw})
    assert add_key(signed_in, OddKey(cose), name="Ed25519").status_code == 302
    assert Passkey.objects.filter(user=user).count() == 2


def test_an_answer_nested_past_the_parsers_depth_is_refused_not_a_server_error(
    signed_in, user, make_user
):
    """A browser's answer is JSON with CBOR inside: one nested deeper than the parser goes
    (18,000 characters, within the field's limit) is a refusal like any answer that is not one,
    at setup and at the reset portal, for everyone (docs/security.md §38)."""
    deep = "[" * 9000 + "]" * 9000
    signed_in.get(SETUP)
    refused = signed_in.post(SETUP, {"name": "Laptop", "credential": deep})
    assert refused.status_code == 400 and "Nothing was saved" in refused.content.decode()
    assert not Passkey.objects.filter(user=user).exists()
    make_user("rita")
    stranger = Client()
    start_reset(stranger, "rita")
    answer = stranger.post(RESET, {"credential": deep})
    assert answer.status_code == 200 and "could not verify you" in answer.content.decode()


@pytest.mark.parametrize("credential_id", ["a\\u0000b"])
def test_a_credential_id_no_browser_sends_is_a_refusal(make_user, credential_id):
    """JSON carries what a form cannot: a NUL written \\u0000 reached the database, which
    PostgreSQL refuses (a server error; SQLite takes it, so the PostgreSQL run is the one that
    tells). An id that is not base64url names no key, and is not looked up."""
    make_user("rita")
    stranger = Client(raise_request_exception=False)
    start_reset(stranger, "rita")
    stranger.get(RESET)
    answer = stranger.post(RESET, {"credential": '{"id": "' + credential_id + '"}'})
    assert answer.status_code == 200 and "could not verify you" in answer.content.decode()


def test_a_name_is_measured_again_once_normalised(signed_in, user):
    """One character can normalise into several ("\ufdfa" into 18): the stored name keeps to its
    60 characters, and the page says so next to the field."""
    response = add_key(signed_in, SoftKey(), name="\ufdfa" * 60)
    page = response.content.decode()
    assert response.status_code == 200 and "it may have at most 60 characters" in page
    assert 'aria-invalid="true"' in page
    assert not Passkey.objects.filter(user=user).exists()
    assert add_key(signed_in, SoftKey(), name="\ufdfa" * 3).status_code == 302
    assert len(Passkey.objects.get(user=user).name) == 54


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(2))
def test_keys_sent_at_once_from_several_windows_stay_within_the_limit(make_user, attempt):
    """Nine keys, then three answers to one page's challenge sent at the same moment from three
    windows: one key is added (the tenth), as the limit and the challenge's single use say."""
    from tests.support.at_once import at_once

    make_user("rita")
    browser = Client()
    sign_in(browser, "rita")
    for n in range(9):
        assert add_key(browser, SoftKey(), name=f"Key {n}").status_code == 302
    options = options_in(browser.get(SETUP).content.decode())
    answers = iter([(f"New {n}", SoftKey().create(options)) for n in range(3)])

    def send():
        name, credential = next(answers)
        return another_window(browser).post(SETUP, {"name": name, "credential": credential})

    statuses = [answer.status_code for answer in at_once(send, 3)]
    assert statuses.count(302) == 1 and all(status < 500 for status in statuses), statuses
    assert Passkey.objects.count() == 10
