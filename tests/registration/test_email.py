from __future__ import annotations

import pytest
from django.core import mail

from methods.models import AuthenticationEmail
from tests.support.codes import last_email_code
from tests.support.registering import register_email, shows_code_page

pytestmark = pytest.mark.django_db


def test_email_code_verifies_the_address(signed_in, user):
    response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert shows_code_page(response, "email")
    (message,) = mail.outbox
    assert message.to == ["alice.home@example.net"]
    assert last_email_code() in message.body
    # Never in the subject: a lock screen's preview or a mail log shows that line.
    assert message.subject == "Your verification code"
    assert not AuthenticationEmail.objects.filter(user=user).exists()

    response = signed_in.post("/ssprsetup/email/verify/", {"code": last_email_code()})
    assert response["Location"] == "/ssprsetup/"
    record = AuthenticationEmail.objects.get(user=user)
    assert record.email == "alice.home@example.net" and record.verified_at
    signed_in.get("/ssprsetup/")
    overview = signed_in.get("/ssprsetup/").content.decode()
    assert "a•••@example.net" in overview and "alice.home@" not in overview


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("not-an-address", "Type an email address such as name@example.org."),
        ("alice@", "Type an email address such as name@example.org."),
        ("a" * 250 + "@example.net", "At most 254 characters."),
        ("", "Type your email address."),
        ("ALICE@example.org", "your account&#x27;s own address"),
        # Full-width letters and an ideographic full stop: the same mailbox.
        (
            "alice@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002org",
            "your account&#x27;s own address",
        ),
        # Far too long: refused for its length, its labels not decoded (that cost grew with
        # the length: a megabyte held a worker for seconds).
        ("a@xn--" + "a" * 1_000_000, "Type an email address such as name@example.org."),
        # A server named by its address: codes and notices aimed at the network's machines.
        ("a@[127.0.0.1]", "Use an address with a domain name"),
        ("a@[IPv6:::1]", "Use an address with a domain name"),
    ],
)
def test_bad_addresses_are_refused_next_to_the_field(signed_in, user, address, message):
    response = signed_in.post("/ssprsetup/email/", {"email": address})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_email_error"' in page and message in page
    assert mail.outbox == []
    assert not AuthenticationEmail.objects.filter(user=user).exists()


def test_sending_failure_leaves_nothing_behind_and_retry_works(signed_in, user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert shows_code_page(response, "email")
    # The send fails once the page is out; the code page says so when next opened.
    page = signed_in.get("/ssprsetup/email/verify/").content.decode()
    assert "could not be sent just now" in page
    assert not AuthenticationEmail.objects.filter(user=user).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    register_email(signed_in)  # no cooldown: the failed send did not count
    assert AuthenticationEmail.objects.get(user=user).verified_at


def test_a_corrected_address_gets_its_code_at_once_and_never_stores_the_first(signed_in, user):
    """A correction is not a resend: the corrected address gets its code within the cooldown;
    the first code verifies nothing (docs/security.md §4, §8)."""
    signed_in.post("/ssprsetup/email/", {"email": "alice.hmoe@example.net"})
    first_code = last_email_code()
    response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert shows_code_page(response, "email")
    assert [message.to for message in mail.outbox] == [
        ["alice.hmoe@example.net"],
        ["alice.home@example.net"],
    ]
    assert "alice.home@example.net" in response.content.decode()
    signed_in.post("/ssprsetup/email/verify/", {"code": first_code})
    assert not AuthenticationEmail.objects.filter(user=user).exists()
    signed_in.post("/ssprsetup/email/verify/", {"code": last_email_code()})
    assert AuthenticationEmail.objects.get(user=user).email == "alice.home@example.net"


def test_an_address_entered_for_the_person_that_is_their_own_is_not_confirmed(signed_in, user):
    """Entered by an administrator before that was refused there: the person is told, and no
    code goes to it."""
    AuthenticationEmail.objects.create(user=user, email="Alice@Example.org", prepopulated=True)
    response = signed_in.post("/ssprsetup/email/confirm/", follow=True)
    assert "your account&#x27;s own, so it cannot recover your account" in (
        response.content.decode()
    )
    assert mail.outbox == []


def test_a_full_width_address_stored_before_matches_either_spelling_at_reset(user):
    """Folded by a migration and by the canonical form: typed in plain letters at the portal,
    an address once stored in full-width letters matches."""
    from django.test import Client
    from django.utils import timezone

    from methods.code.email_addresses import canonical_email
    from tests.support.resets import shows_finish_page, start_reset

    stored = canonical_email("alice.home@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.net")
    assert stored == "alice.home@example.net"
    AuthenticationEmail.objects.create(user=user, email=stored, verified_at=timezone.now())
    for typed in ("alice.home@example.net", "alice.home@\uff45xample.net"):
        client = Client()
        start_reset(client, user.username)
        client.post("/passwordreset/email/", {"email": typed})
        assert shows_finish_page(
            client.post("/passwordreset/email/code/", {"code": last_email_code()})
        )
