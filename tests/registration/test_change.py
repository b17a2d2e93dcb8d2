"""Changing or removing a verified method: a recent password, and notices."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone, SecurityAnswer
from tests.support.codes import last_phone_code
from tests.support.people import PASSWORD
from tests.support.registering import (
    prove_with_phone,
    questions_data,
    register_email,
    register_phone,
)

pytestmark = pytest.mark.django_db


def later(minutes=11):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False)


def test_first_setup_right_after_signing_in_needs_no_second_password(signed_in):
    with later(minutes=9):
        assert signed_in.get("/ssprsetup/phone/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/ssprsetup/email/", "/ssprsetup/phone/", "/ssprsetup/questions/"]
)
def test_an_old_session_cannot_add_a_method_without_the_password(signed_in, user, path):
    """A stolen three-hour-old session must not add the attacker's address silently."""
    with later(minutes=180):
        response = signed_in.post(path, {"email": "attacker@example.net", **questions_data(3)})
        assert response["Location"].startswith("/ssprsetup/confirm-password/")
        assert signed_in.get(path)["Location"].startswith("/ssprsetup/confirm-password/")
    assert mail.outbox == []
    assert not AuthenticationEmail.objects.exists() and not SecurityAnswer.objects.exists()


def test_adding_a_method_tells_the_account_addresses(signed_in, user):
    register_phone(signed_in)
    (notice,) = mail.outbox
    assert notice.to == [user.email]
    assert "Authentication phone: added" in notice.body
    assert "+44 ••••••••56" in notice.body and "7400123456" not in notice.body
    mail.outbox.clear()
    register_email(signed_in, "alice.home@example.net")
    # The new address is told too, and the account's own address.
    notices = [m for m in mail.outbox if "Authentication email: added" in m.body]
    assert sorted(a for m in notices for a in m.to) == sorted(
        [user.email, "alice.home@example.net"]
    )


def test_change_after_ten_minutes_asks_for_the_password_again(signed_in, user):
    register_phone(signed_in)
    with later():
        response = signed_in.get("/ssprsetup/phone/")
        assert response["Location"] == "/ssprsetup/confirm-password/?next=%2Fssprsetup%2Fphone%2F"
        wrong = signed_in.post(response["Location"], {"password": "wrong"})
        assert "That password is not right" in wrong.content.decode()
        ok = signed_in.post(response["Location"], {"password": PASSWORD})
        assert ok["Location"] == "/ssprsetup/phone/"
        # The password is not enough for someone with a method: a proof with it comes next.
        assert (
            signed_in.get("/ssprsetup/phone/")["Location"]
            == "/passwordreset/prove/?next=%2Fssprsetup%2Fphone%2F"
        )
        prove_with_phone(signed_in, next_url="/ssprsetup/phone/")
        assert signed_in.get("/ssprsetup/phone/").status_code == 200
    assert Event.objects.filter(kind=EventKind.PASSWORD_CONFIRMED).count() == 1


def test_change_within_ten_minutes_needs_no_password_but_a_proof_after_five(signed_in):
    register_phone(signed_in)
    with later(minutes=4):
        # Verifying the phone was itself a proof with it, a few minutes ago.
        assert signed_in.get("/ssprsetup/phone/").status_code == 200
    with later(minutes=9):
        assert signed_in.get("/ssprsetup/phone/")["Location"].startswith("/passwordreset/prove/")


@pytest.mark.parametrize("path", ["/ssprsetup/phone/remove/", "/ssprsetup/questions/"])
def test_remove_and_question_change_also_need_a_recent_password(signed_in, path):
    register_phone(signed_in)
    signed_in.post("/ssprsetup/questions/", questions_data(3))
    with later():
        assert signed_in.get(path)["Location"].startswith("/ssprsetup/confirm-password/")
        assert signed_in.post(path, questions_data(3))["Location"].startswith(
            "/ssprsetup/confirm-password/"
        )
    assert AuthenticationPhone.objects.exists() and SecurityAnswer.objects.count() == 3


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_confirm_password_never_leaves_the_site(signed_in, next_url):
    response = signed_in.post(
        f"/ssprsetup/confirm-password/?next={next_url}", {"password": PASSWORD}
    )
    assert response["Location"] == "/ssprsetup/"


def test_changing_the_phone_keeps_the_old_one_until_the_new_one_is_verified(signed_in, user):
    register_phone(signed_in, "+447400123456")
    mail.outbox.clear()
    signed_in.post("/ssprsetup/phone/", {"number": "+447400654321", "channel": "sms"})
    assert str(AuthenticationPhone.objects.get(user=user).number) == "+447400123456"
    signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    assert str(AuthenticationPhone.objects.get(user=user).number) == "+447400654321"
    (notice,) = mail.outbox
    assert notice.to == [user.email]
    assert "Authentication phone: changed" in notice.body
    assert "+44 ••••••••21" in notice.body
    assert "7400654321" not in notice.body and "7400 654321" not in notice.body
    assert Event.objects.filter(kind=EventKind.METHOD_CHANGED).count() == 1


def test_changing_the_email_notifies_the_account_and_the_previous_address(signed_in, user):
    register_email(signed_in, "old.home@example.net")
    mail.outbox.clear()
    signed_in.post("/ssprsetup/email/", {"email": "new.home@example.net"})
    from tests.support.codes import last_email_code

    code = last_email_code()
    mail.outbox.clear()
    signed_in.post("/ssprsetup/email/verify/", {"code": code})
    assert AuthenticationEmail.objects.get(user=user).email == "new.home@example.net"
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([user.email, "new.home@example.net", "old.home@example.net"])
    for message in mail.outbox:
        assert code not in message.body and "new.home@" not in message.body
        assert len(message.to) == 1


def test_removing_a_method_deletes_it_and_sends_notices(signed_in, user):
    register_email(signed_in, "old.home@example.net")
    mail.outbox.clear()
    page = signed_in.get("/ssprsetup/email/remove/").content.decode()
    assert "o•••@example.net" in page
    response = signed_in.post("/ssprsetup/email/remove/")
    assert response["Location"] == "/ssprsetup/"
    assert not AuthenticationEmail.objects.filter(user=user).exists()
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(
        [user.email, "old.home@example.net"]
    )
    assert "Authentication email: removed" in mail.outbox[0].body
    assert Event.objects.filter(kind=EventKind.METHOD_REMOVED).count() == 1
    # The same form again (a second tab): said, and nothing more recorded or sent.
    mail.outbox.clear()
    page = signed_in.post("/ssprsetup/email/remove/", follow=True).content.decode()
    assert "Authentication email is not set up, so there was nothing to remove." in page
    assert not mail.outbox and Event.objects.filter(kind=EventKind.METHOD_REMOVED).count() == 1


def test_removing_a_method_that_is_not_set_changes_nothing(signed_in):
    response = signed_in.post("/ssprsetup/phone/remove/")
    assert response["Location"] == "/ssprsetup/"
    assert not Event.objects.filter(kind=EventKind.METHOD_REMOVED).exists()
    assert signed_in.post("/ssprsetup/nonsense/remove/").status_code == 404


def test_replacing_questions_notifies(signed_in, user):
    signed_in.post("/ssprsetup/questions/", questions_data(3))
    (added,) = mail.outbox
    assert "Security questions: added" in added.body
    mail.outbox.clear()
    signed_in.post(
        "/ssprsetup/questions/", questions_data(3, answers=["other one", "other two", "other 3"])
    )
    (notice,) = mail.outbox
    assert "Security questions: changed" in notice.body
    assert "other" not in notice.body


def test_removing_a_phone_forgets_the_number_being_verified(signed_in, user):
    """A number typed to replace the phone, then the phone removed: the next visit starts from
    the number, not from a "send a code to …" page naming the forgotten one."""
    register_phone(signed_in, "+447400123456")
    signed_in.post("/ssprsetup/phone/", {"number": "+447400654321", "channel": "sms"})
    assert "654321" in signed_in.get("/ssprsetup/phone/send/").content.decode()
    assert signed_in.post("/ssprsetup/phone/remove/")["Location"] == "/ssprsetup/"
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    assert signed_in.get("/ssprsetup/phone/send/")["Location"] == "/ssprsetup/phone/"
    assert signed_in.get("/ssprsetup/phone/verify/")["Location"] == "/ssprsetup/phone/"


def test_the_password_check_gives_the_session_a_new_key(signed_in):
    """The check opens a window for changes (docs/security.md §23): a key planted or read
    before it is worth nothing after it."""
    before = signed_in.session.session_key
    with later():
        response = signed_in.post("/ssprsetup/confirm-password/", {"password": PASSWORD})
    assert response["Location"] == "/ssprsetup/"
    assert signed_in.session.session_key != before
    with later():  # the old key opens nothing, the new one the window
        stale = signed_in.__class__()
        stale.cookies["sessionid"] = before
        assert stale.get("/ssprsetup/phone/")["Location"].startswith("/ssprsetup/signin/")
        assert signed_in.get("/ssprsetup/phone/").status_code == 200


def test_removing_a_method_the_registration_needs_ends_the_registration(signed_in, user, policy):
    """With one method required, removing the only one: the person is told they are not
    registered any more, and every list says so too (the helpdesk's, the admin's counts, the
    reminders), until a method is added again."""
    from registration.models import Registration
    from registration.queries import RegistrationState, with_state
    from registration.reminders import reminder_candidates

    policy.methods_required = 1
    policy.reminders_enabled = True
    policy.save()
    register_email(signed_in, "old.home@example.net")
    assert Registration.objects.get(user=user).completed_at is not None
    asked = signed_in.get("/ssprsetup/email/remove/").content.decode()
    assert 'id="ends-registration"' in asked  # said before, on the question
    page = signed_in.post("/ssprsetup/email/remove/", follow=True).content.decode()
    # What was done first, as a status; what follows from it after, as an alert.
    done = page.index("Authentication email removed.")
    warned = page.index("you are not registered any more")
    assert done < page.index('role="alert"') < warned
    assert Registration.objects.get(user=user).completed_at is None
    people = with_state(type(user).objects.filter(pk=user.pk), policy)
    assert people.get().sspr_state == RegistrationState.NOT_REGISTERED
    assert user in reminder_candidates(policy)
    assert Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=user).count() == 1
    # A method again: registered again, at once.
    register_email(signed_in, "new.home@example.net")
    assert Registration.objects.get(user=user).completed_at is not None
    completed = Event.objects.filter(kind=EventKind.REGISTRATION_COMPLETED, subject=user)
    assert completed.count() == 2


def test_removing_a_method_beyond_what_is_required_keeps_the_registration(signed_in, user, policy):
    from registration.models import Registration

    policy.methods_required = 1
    policy.save()
    register_email(signed_in, "old.home@example.net")
    register_phone(signed_in)
    assert (
        'id="ends-registration"' not in signed_in.get("/ssprsetup/email/remove/").content.decode()
    )
    page = signed_in.post("/ssprsetup/email/remove/", follow=True).content.decode()
    assert not AuthenticationEmail.objects.filter(user=user).exists()
    assert "not registered any more" not in page
    assert Registration.objects.get(user=user).completed_at is not None
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).exists()


def test_a_confirmation_owed_is_still_owed_after_a_lapse_and_a_method_added_again(
    signed_in, user, policy
):
    """Flagged for reconfirmation, the person removes a method (the registration lapses) and
    adds one again: registered again at once, and still asked to confirm."""
    from registration.flows import registrations_flag
    from registration.models import Registration

    policy.methods_required = 1
    policy.save()
    register_email(signed_in, "old.home@example.net")
    registrations_flag(users=type(user).objects.filter(pk=user.pk))
    signed_in.post("/ssprsetup/email/remove/")
    lapsed = Registration.objects.get(user=user)
    assert lapsed.completed_at is None and lapsed.reconfirmation_required
    register_email(signed_in, "new.home@example.net")
    again = Registration.objects.get(user=user)
    assert again.completed_at is not None and again.reconfirmation_required
    assert (
        Event.objects.filter(
            kind=EventKind.REGISTRATION_COMPLETED, subject=user, details__registered_before=True
        ).count()
        == 1
    )
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_CONFIRMED, subject=user).exists()


@pytest.mark.parametrize("gone", ["office phone from the directory", "last recovery code spent"])
def test_a_method_gone_without_a_page_ends_the_registration(
    make_user, policy, gone, django_capture_on_commit_callbacks
):
    from directory.mirror import sync_office_phone
    from methods.models import OfficePhone
    from methods.recovery_codes import codes
    from methods.recovery_codes.models import RecoveryCode
    from registration.models import Registration

    policy.methods_required = 1
    policy.set_option("recovery_codes", "enabled", True)
    policy.save()
    rita = make_user("rita")
    now = timezone.now()
    if gone.startswith("office"):
        OfficePhone.objects.create(user=rita, number="+442071838750")
    else:
        shown, _replaced = codes.make_set(rita)
        RecoveryCode.objects.filter(user=rita).exclude(
            digest__in=codes._digests(rita.pk, codes.normalise(shown[0]))
        ).update(used_at=now)
    Registration.objects.create(user=rita, completed_at=now, last_confirmed_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        if gone.startswith("office"):
            assert sync_office_phone(rita.pk, "")
        else:
            assert codes.spend(rita.pk, shown[0])
    assert Registration.objects.get(user=rita).completed_at is None
    assert Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=rita).exists()
