"""An internationalised address is stored and compared in one form, however it arrives."""

from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from methods.code.email_addresses import canonical_email
from methods.contact_import import import_contact_info
from methods.models import AuthenticationEmail
from tests.attacks.test_policy_numbers import admin_form
from tests.support.codes import last_email_code
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db

UNICODE, PUNYCODE = "anna@exämple.de", "anna@xn--exmple-cua.de"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (PUNYCODE, UNICODE),
        (UNICODE, UNICODE),
        ("Anna@EXAMPLE.org", "Anna@example.org"),
        ("  anna@XN--EXMPLE-CUA.DE ", UNICODE),
        ("not-an-address", "not-an-address"),
        ("a@xn--zz.de", "a@xn--zz.de"),  # not valid punycode: left for the validator
    ],
)
def test_one_canonical_form(typed, stored):
    assert canonical_email(typed) == stored


def test_an_imported_address_is_not_changed_by_saving_the_user_in_the_admin(
    admin_client, make_user
):
    pat = make_user("pat")
    report = import_contact_info(
        io.BytesIO(f"username,authentication_email,consent\npat,{UNICODE},yes\n".encode())
    )
    assert report.applied == 1 and not report.errors
    before = AuthenticationEmail.objects.get(user=pat)
    assert before.email == UNICODE
    # The browser sends the domain as punycode; nobody ticks "the user has agreed" again.
    data = admin_form(pat)
    data |= {
        "authentication_email-TOTAL_FORMS": "1",
        "authentication_email-INITIAL_FORMS": "1",
        "authentication_email-0-id": str(before.pk),
        "authentication_email-0-user": str(pat.pk),
        "authentication_email-0-email": PUNYCODE,
    }
    response = admin_client.post(f"/admin/auth/user/{pat.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    after = AuthenticationEmail.objects.get(user=pat)
    assert (after.email, after.consent_recorded_at) == (UNICODE, before.consent_recorded_at)


def test_the_person_types_either_form_and_the_same_address_is_stored(signed_in, user):
    signed_in.post("/ssprsetup/email/", {"email": PUNYCODE})
    signed_in.post("/ssprsetup/email/verify/", {"code": last_email_code()})
    assert AuthenticationEmail.objects.get(user=user).email == UNICODE


def test_the_reset_portal_matches_either_form(client, make_user, mailoutbox, settings):
    from tests.support.resets import start_reset

    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    rita = make_user("rita")
    AuthenticationEmail.objects.create(user=rita, email=UNICODE, verified_at=timezone.now())
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": PUNYCODE})
    assert [message.to for message in mailoutbox] == [[UNICODE]]


def test_every_way_of_writing_the_row_stores_the_one_form(make_user):
    """Django's save, and the INSERT built once that writes a person's first address
    (sspr_site/rows.py), both store the canonical form."""
    from sspr_site.rows import Insert

    saved = AuthenticationEmail.objects.create(user=make_user("a"), email=PUNYCODE)
    inserted = Insert(AuthenticationEmail, unless_there=True).create(
        user=make_user("b"), email=PUNYCODE
    )
    for row in (saved, inserted):
        assert row.email == UNICODE
        assert AuthenticationEmail.objects.get(pk=row.pk).email == UNICODE


def test_one_mailbox_gets_five_codes_an_hour_however_its_address_is_cased(make_user):
    """The part before @ typed in other cases reaches the same inbox: one count (§9)."""
    spellings = ["victim", "Victim", "vIctim", "viCtim", "vicTim", "VICTIM"]
    answers = []
    for n, local in enumerate(spellings):
        client = past_sign_in_check(Client(), make_user(f"sender{n}"))
        answers.append(client.post("/ssprsetup/email/", {"email": f"{local}@example.net"}))
    assert [a.status_code for a in answers][-1] == 429
    assert len(mail.outbox) == 5


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("a" * 3000, "Type an email address such as name@example.org."),
        ("x" * 250 + "@example.org", "At most 254 characters."),
    ],
)
def test_one_mistake_in_an_address_is_one_message(client, typed, says, settings):
    """A very long entry is told one thing next to the field, not two."""
    from tests.support.resets import start_reset

    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    assert start_reset(client, "nobody-here").status_code == 302
    page = client.post("/passwordreset/email/", {"email": typed}).content.decode()
    errors = re.search(r'<ul class="errorlist" id="id_email_error">(.*?)</ul>', page).group(1)
    assert errors == f"<li>{says}</li>"
