from __future__ import annotations

import re

import pytest
from django.core import mail

from audit.models import Event, EventKind
from methods.models import OfficePhone, SecurityQuestion
from policy.models import Policy

pytestmark = pytest.mark.django_db


def policy_form(**changes):
    data = {
        "method__phone__enabled": "on",
        "method__phone__sms": "on",
        "method__phone__voice": "on",
        "method__email__enabled": "on",
        "method__questions__enabled": "on",
        "method__authenticator__enabled": "on",
        "method__passkey__enabled": "on",
        "scope": "everyone",
        "methods_required": "2",
        "method__questions__count": "3",
        "reset_methods_required": "1",
        "method__questions__reset_count": "3",
        "reconfirm_days": "180",
        "require_registration_at_sign_in": "on",
        "skips_allowed": "3",
        "notify_users_on_reset": "on",
        "notify_admins_on_admin_reset": "on",
        "allowed_regions": "",
        "helpdesk_contact": "",
        "reminders_enabled": "on",
        "reminder_interval_days": "14",
        "access_pass_lifetime_minutes": "60",
        "access_pass_single_use": "on",
        "cooling_off_hours": "24",
        "expiry_reminder_days": "14,7,3,1",
        "expiry_reminder_email": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def confirmed(preview_page: str) -> dict[str, str]:
    """The fields the impact page's "Save the change" sends besides the form's own."""
    version = re.search(r'name="_policy_version" value="([^"]*)"', preview_page).group(1)
    return {"_confirm_impact": "1", "_policy_version": version}


def test_policy_list_opens_the_single_policy_form(admin_client):
    response = admin_client.get("/admin/policy/policy/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/policy/policy/1/change/"
    assert admin_client.get("/admin/policy/policy/add/").status_code == 403
    assert admin_client.post("/admin/policy/policy/1/delete/").status_code == 403


def test_policy_changes_are_saved(admin_client):
    data = policy_form(methods_required="1", method__questions__count="5", allowed_regions="gb, ie")
    preview = admin_client.post("/admin/policy/policy/1/change/", data)
    assert "Confirm the policy change" in preview.content.decode()  # more questions: tighter
    response = admin_client.post(
        "/admin/policy/policy/1/change/", data | confirmed(preview.content.decode())
    )
    assert response.status_code == 302
    policy = Policy.load()
    assert (policy.methods_required, policy.option("questions", "count")) == (1, 5)
    assert policy.region_list == ["GB", "IE"]
    assert Policy.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "method__phone__enabled": None,
                "method__email__enabled": None,
                "method__questions__enabled": None,
                "method__authenticator__enabled": None,
                "method__passkey__enabled": None,
            },
            "Enable at least one method",
        ),
        (
            {
                "method__phone__enabled": None,
                "method__email__enabled": None,
                "method__authenticator__enabled": None,
                "method__passkey__enabled": None,
            },
            "fewer than the 2 required",
        ),
        (
            {"method__phone__sms": None, "method__phone__voice": None},
            "Choose text message, voice call or both",
        ),
        ({"methods_required": "3"}, "less than or equal to 2"),
        ({"methods_required": "0"}, "greater than or equal to 1"),
        ({"method__questions__count": "6"}, "Select a valid choice"),
        ({"method__questions__count": "2"}, "Select a valid choice"),
        ({"allowed_regions": "GB, XX"}, "Unknown country codes: XX"),
        (
            {
                "method__phone__enabled": None,
                "method__email__enabled": None,
                "method__authenticator__enabled": None,
                "method__passkey__enabled": None,
                "methods_required": "1",
            },
            "Only security questions are enabled, and they count for a reset only together",
        ),
    ],
)
def test_impossible_policies_are_refused_with_a_clear_error(admin_client, changes, message):
    before = Policy.load().updated_at
    response = admin_client.post("/admin/policy/policy/1/change/", policy_form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Policy.load().updated_at == before


def test_an_out_of_range_requirement_gets_one_message_that_reads_as_a_sentence(admin_client):
    """Not "Only 3 methods are enabled; 7 are required" when the limit is 2."""
    page = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(methods_required="7")
    ).content.decode()
    assert "less than or equal to 2" in page
    assert "fewer than the 7" not in page
    page = admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(method__questions__count="3", method__questions__reset_count="4"),
    ).content.decode()
    assert "Ask at most as many questions for a password reset" in page
    assert " at reset" not in page


@pytest.mark.parametrize("typed", ["-3", "0"])
def test_a_number_below_its_least_is_told_the_least_it_can_be(admin_client, typed):
    """Days between reminders start at 1: a negative number is not told "0 or more"."""
    response = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(reminder_interval_days=typed)
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "greater than or equal to 1" in page
    assert "greater than or equal to 0" not in page
    assert Policy.load().reminder_interval_days != int(typed)


def test_helpdesk_contact_is_escaped_on_pages(admin_client, signed_in):
    admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(helpdesk_contact='<script>alert("x")</script>'),
    )
    page = signed_in.get("/ssprsetup/").content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_administrators_add_and_retire_questions(admin_client, signed_in):
    response = admin_client.post(
        "/admin/methods/securityquestion/add/",
        {"text": "Name of your <b>first</b> boat?", "active": "on"},
    )
    assert response.status_code == 302
    page = signed_in.get("/ssprsetup/questions/").content.decode()
    assert "Name of your &lt;b&gt;first&lt;/b&gt; boat?" in page
    question = SecurityQuestion.objects.get(text__startswith="Name of your")
    admin_client.post(
        "/admin/methods/securityquestion/",
        {
            "action": "deactivate",
            "_selected_action": [question.pk],
        },
    )
    question.refresh_from_db()
    assert not question.active
    assert (
        admin_client.post(f"/admin/methods/securityquestion/{question.pk}/delete/").status_code
        == 403
    )


@pytest.mark.parametrize(
    "typed",
    [
        "name of your first boat?",
        "Name of your first boat ?",
        "NAME  OF YOUR FIRST BOAT",
        "Name of your first boat!?",
    ],
)
def test_a_question_asked_already_is_refused_however_it_is_typed(admin_client, typed):
    """The same words in other capitals, spacing or punctuation would let a person choose one
    question twice: refused next to the field, nothing saved."""
    SecurityQuestion.objects.create(text="Name of your first boat?")
    before = SecurityQuestion.objects.count()
    response = admin_client.post(
        "/admin/methods/securityquestion/add/", {"text": typed, "active": "on"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert SecurityQuestion.objects.count() == before


def test_a_question_mixing_look_alike_alphabets_in_a_word_is_refused(admin_client):
    """A Cyrillic "а" in a Latin word reads like the question already offered, and would be
    another question to the site: refused next to the field. Questions in one alphabet, a
    Latin name in a Cyrillic question, and Japanese (kanji, kana and Latin letters in one run)
    are kept."""
    SecurityQuestion.objects.create(text="Name of your first boat?")
    before = SecurityQuestion.objects.count()
    response = admin_client.post(
        "/admin/methods/securityquestion/add/",
        {"text": "N\u0430me of your first boat?", "active": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "type it again in one alphabet" in page
    assert SecurityQuestion.objects.count() == before
    for text in (
        "Как звали вашего первого учителя?",
        "Какой была ваша первая модель iPhone?",
        "最初に買ったPCのメーカーは何ですか？",
    ):
        saved = admin_client.post(
            "/admin/methods/securityquestion/add/", {"text": text, "active": "on"}
        )
        assert saved.status_code == 302, text
    assert SecurityQuestion.objects.count() == before + 3


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # A whole word in Cyrillic ("а") reads as the Latin question already offered.
        ("Which sports team did you support as \u0430 child?", "approved already"),
        ("\u200b" * 9, "Write the question out in full"),
        ("?????????", "Write the question in words"),
        ("\u00bf\u00bf\u00bfQu\u00e9???", "Write the question in words"),
        # A direction override shows the words in another order than stored: taken out, the
        # question is the one already offered.
        ("Which sports team did you support as a\u202e child?", "approved already"),
    ],
)
def test_a_question_that_only_looks_new_or_shows_nothing_is_refused(admin_client, text, says):
    assert SecurityQuestion.objects.filter(
        text="Which sports team did you support as a child?"  # built in
    ).exists()
    before = SecurityQuestion.objects.count()
    response = admin_client.post(
        "/admin/methods/securityquestion/add/", {"text": text, "active": "on"}
    )
    assert response.status_code == 200 and says in response.content.decode()
    assert SecurityQuestion.objects.count() == before


def test_a_near_duplicate_saved_before_can_still_be_retired(admin_client):
    """Saved before the check was made stricter: its page still saves, to retire it."""
    SecurityQuestion.objects.create(text="Name of your first boat?")
    older = SecurityQuestion.objects.create(text="name of your first boat ?")
    response = admin_client.post(
        f"/admin/methods/securityquestion/{older.pk}/change/", {"text": older.text}
    )
    assert response.status_code == 302
    older.refresh_from_db()
    assert not older.active


def test_question_text_is_limited_to_200_characters(admin_client):
    response = admin_client.post("/admin/methods/securityquestion/add/", {"text": "x" * 201})
    assert response.status_code == 200
    assert "at most 200 characters" in response.content.decode()


def test_builtin_questions_are_installed():
    assert SecurityQuestion.objects.filter(builtin=True, active=True).count() >= 20


def test_office_phone_is_set_in_the_user_admin(
    admin_client, user, django_capture_on_commit_callbacks
):
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    assert "office phone (set only here)" in page.lower() or "Office phone" in page
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        "office_phone-TOTAL_FORMS": "1",
        "office_phone-INITIAL_FORMS": "0",
        "office_phone-MIN_NUM_FORMS": "0",
        "office_phone-MAX_NUM_FORMS": "1",
        "office_phone-0-number": "+442071838750",
        "office_phone-0-user": str(user.pk),
        "authentication_phone-TOTAL_FORMS": "0",
        "authentication_phone-INITIAL_FORMS": "0",
        "authentication_phone-MIN_NUM_FORMS": "0",
        "authentication_phone-MAX_NUM_FORMS": "1",
        "authentication_email-TOTAL_FORMS": "0",
        "authentication_email-INITIAL_FORMS": "0",
        "authentication_email-MIN_NUM_FORMS": "0",
        "authentication_email-MAX_NUM_FORMS": "1",
    }
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    phone = OfficePhone.objects.get(user=user)
    assert str(phone.number) == "+442071838750"
    # It counts for a reset on its own: recorded, and the person told (masked).
    data |= {
        "office_phone-INITIAL_FORMS": "1",
        "office_phone-0-id": str(phone.pk),
        "office_phone-0-number": "+442071838751",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    # The same number typed another way changes nothing: not recorded, nobody told.
    for typed in ("+44 20 7183 8751", "020 7183 8751"):
        retyped = data | {"office_phone-0-number": typed, "office_phone-0-region": "GB"}
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", retyped)
        assert response.status_code == 302, response.content.decode()[:3000]
    assert str(OfficePhone.objects.get(user=user).number) == "+442071838751"
    data |= {"office_phone-0-DELETE": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/auth/user/{user.pk}/change/", data).status_code == 302
    assert not OfficePhone.objects.filter(user=user).exists()
    events = Event.objects.filter(subject=user, details__method="office_phone").order_by("pk")
    assert [(e.kind, e.details["action"], e.actor.username) for e in events] == [
        (EventKind.METHOD_CHANGED, "added", "root"),
        (EventKind.METHOD_CHANGED, "replaced", "root"),
        (EventKind.METHOD_REMOVED, "removed", "root"),
    ]
    bodies = [message.body for message in mail.outbox if message.to == [user.email]]
    assert len(bodies) == 3
    assert "Office phone: added (+44 ••••••••50)" in bodies[0]
    assert "Office phone: changed (+44 ••••••••51)" in bodies[1]
    assert "Office phone: removed" in bodies[2]
    assert not any("7183" in body for body in bodies)
    # Nor does the admin's own history keep the number (docs/security.md §21).
    from django.contrib.admin.models import LogEntry

    history = admin_client.get(f"/admin/auth/user/{user.pk}/history/").content.decode()
    assert "7183" not in history and "Office phone of" in history
    assert not any("7183" in m for m in LogEntry.objects.values_list("change_message", flat=True))


def test_a_registration_is_read_only_in_the_admin(admin_client, user):
    """Flags and reminder dates change through recorded ways (the user list's action, the
    command, the person's pages); a date typed here would silence the person's reminders."""
    from django.utils import timezone

    from registration.models import Registration

    now = timezone.now()
    registration = Registration.objects.create(user=user, completed_at=now, last_confirmed_at=now)
    url = f"/admin/registration/registration/{registration.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="reconfirmation_required"' not in page and 'name="reminded_at' not in page
    admin_client.post(
        url,
        {
            "reconfirmation_required": "on",
            "reminded_at_0": "9999-12-31",
            "reminded_at_1": "23:59:00",
        },
    )
    registration.refresh_from_db()
    assert registration.reconfirmation_required is False and registration.reminded_at is None
    # The recorded way still works, and is recorded.
    admin_client.post(
        "/admin/auth/user/",
        {"action": "require_reconfirmation", "_selected_action": [str(user.pk)]},
    )
    registration.refresh_from_db()
    assert registration.reconfirmation_required is True
    assert Event.objects.filter(kind=EventKind.REGISTRATION_FLAGGED, subject=user).exists()


def test_a_registration_cannot_be_deleted_in_the_admin(admin_client, user):
    """Deleting it would say, unrecorded, that the person never registered: neither the delete
    page nor the list's delete action is there, and the record stays."""
    from django.utils import timezone

    from registration.models import Registration

    now = timezone.now()
    registration = Registration.objects.create(user=user, completed_at=now, last_confirmed_at=now)
    url = f"/admin/registration/registration/{registration.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    listing = admin_client.get("/admin/registration/registration/").content.decode()
    assert 'value="delete_selected"' not in listing
    admin_client.post(
        "/admin/registration/registration/",
        {"action": "delete_selected", "_selected_action": [str(registration.pk)], "post": "yes"},
    )
    assert Registration.objects.filter(pk=registration.pk).exists()


def test_a_policy_under_which_no_administrator_can_reset_is_saved_with_a_warning(admin_client):
    """Administrators need two methods besides questions; with the phone and questions alone
    turned on, none can ever reset here: saved (an organisation may want that), and said."""
    from policy.admin import administrators_can_reset

    assert administrators_can_reset(Policy.load())
    data = policy_form(
        **{
            "method__email__enabled": None,
            "method__authenticator__enabled": None,
            "method__passkey__enabled": None,
            "methods_required": "1",
        }
    )
    preview = admin_client.post("/admin/policy/policy/1/change/", data)
    response = admin_client.post(
        "/admin/policy/policy/1/change/", data | confirmed(preview.content.decode()), follow=True
    )
    assert "no administrator account can reset its own password" in response.content.decode()
    assert not administrators_can_reset(Policy.load())
    # An ordinary save of a policy that lets them says nothing of it.
    data = policy_form()
    preview = admin_client.post("/admin/policy/policy/1/change/", data)
    response = admin_client.post(
        "/admin/policy/policy/1/change/", data | confirmed(preview.content.decode()), follow=True
    )
    assert "no administrator account can reset" not in response.content.decode()
