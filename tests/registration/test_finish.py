from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Event, EventKind
from methods.models import AuthenticationPhone, OfficePhone
from registration.models import Registration
from tests.support.registering import questions_data, register_email, register_phone

pytestmark = pytest.mark.django_db


def test_overview_lists_enabled_methods_with_state_and_requirement(signed_in, policy):
    page = signed_in.get("/ssprsetup/").content.decode()
    for label in ("Authentication phone", "Authentication email", "Security questions"):
        assert label in page
    assert "Office phone" not in page  # disabled by default
    assert "0 of 2 required methods verified" in page
    assert "set up more than the minimum" in page


def test_finish_is_refused_until_the_requirement_is_met(signed_in, user, policy):
    register_phone(signed_in)
    response = signed_in.post("/ssprsetup/finish/", follow=True)
    assert "Set up and verify the methods" in response.content.decode()
    assert not Registration.objects.filter(user=user, completed_at__isnull=False).exists()


def test_registration_is_recorded_the_moment_the_requirement_is_met(signed_in, user, policy):
    register_phone(signed_in)
    assert not Registration.objects.filter(user=user, completed_at__isnull=False).exists()
    page = signed_in.get("/ssprsetup/email/").content.decode()
    assert "needs 1 more verified method from you, and this one counts" in page
    # The step pages say what is true: the registration is recorded on verification, not
    # by a later Finish.
    assert "You are registered as soon as you have it" in page and "Finish" not in page
    register_email(signed_in)
    # Closing the page now leaves a registered person, not one "not registered" who can reset.
    registration = Registration.objects.get(user=user)
    assert registration.completed_at and registration.last_confirmed_at
    event = Event.objects.get(kind=EventKind.REGISTRATION_COMPLETED)
    assert event.details["methods"] == ["authentication_email", "authentication_phone"]
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "You are registered" in page
    assert "The 2 methods your organisation requires are verified." in page
    assert " of 2 required" not in page  # never "3 of 2"
    # Nothing is left to record, so the button says so: Done, not Finish.
    assert ">Done<" in page and ">Finish<" not in page and "press Finish" not in page
    assert "this one is extra" in signed_in.get("/ssprsetup/questions/").content.decode()
    # The phone's page, to change it: not "extra", it is one of those the organisation needs.
    phone_page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert "You already have the methods your organisation requires, this one among them." in (
        phone_page
    )
    assert "this one is extra" not in phone_page
    assert signed_in.post("/ssprsetup/questions/", questions_data(3)).status_code == 302
    # Done closes the visit with the words a finished registration deserves, and records
    # nothing more.
    response = signed_in.post("/ssprsetup/finish/", follow=True)
    assert "Your registration is complete" in response.content.decode()
    assert Event.objects.filter(kind=EventKind.REGISTRATION_COMPLETED).count() == 1
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_CONFIRMED).exists()
    # Coming back later: registered, with no button left to press.
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "You are registered" in page and 'action="/ssprsetup/finish/"' not in page


def test_before_enough_methods_no_page_asks_for_a_finish_that_records_nothing(
    signed_in, user, policy
):
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "You are registered as soon as they are verified." in page
    assert "press Finish" not in page and 'action="/ssprsetup/finish/"' not in page
    register_phone(signed_in)
    for path in ("/ssprsetup/", "/ssprsetup/email/", "/ssprsetup/questions/"):
        page = signed_in.get(path).content.decode()
        assert "Finish" not in page, path


def test_office_phone_is_read_only_and_counts_when_enabled(signed_in, user, policy):
    policy.set_option("office", "enabled", True)
    policy.methods_required = 1
    policy.save()
    OfficePhone.objects.create(user=user, number="+442071838750")
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "Set by your administrator" in page
    assert "+44 20 7183 8750" in page
    assert "/ssprsetup/office-phone/" not in page
    assert signed_in.get("/ssprsetup/office-phone/").status_code == 404
    assert signed_in.post("/ssprsetup/office-phone/remove/").status_code == 404
    assert "The 1 method your organisation requires is verified." in page
    assert signed_in.post("/ssprsetup/finish/").status_code == 302
    assert Registration.objects.get(user=user).completed_at


def test_the_overview_says_questions_do_not_count_alone(signed_in, policy):
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "they count only together with another method" in page
    policy.questions_alone_allowed = True
    policy.save()
    assert "count only together" not in signed_in.get("/ssprsetup/").content.decode()


def test_office_phone_not_set_is_shown_as_such(signed_in, policy):
    policy.set_option("office", "enabled", True)
    policy.save()
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "Not set. Ask your administrator" in page


def test_prepopulated_phone_waits_for_confirmation_and_counts_only_after_a_code(
    signed_in, user, policy, phone_outbox
):
    policy.methods_required = 1
    policy.save()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", prepopulated=True)
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "Waiting for your confirmation" in page
    assert "0 of 1 required method verified" in page
    response = signed_in.post("/ssprsetup/phone/confirm/")
    assert response["Location"] == "/ssprsetup/phone/send/"
    assert "+44 7400 123456" in signed_in.get("/ssprsetup/phone/send/").content.decode()
    signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"})
    from tests.support.codes import last_phone_code

    signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    phone = AuthenticationPhone.objects.get(user=user)
    assert phone.verified_at and not phone.prepopulated


def test_confirming_a_prepopulated_email_shows_where_the_person_is(signed_in, user):
    """The email's pages send at once when the person types an address; confirming one an
    administrator entered goes through a send page, and its step indicator marks it."""
    from methods.models import AuthenticationEmail

    AuthenticationEmail.objects.create(user=user, email="ann.home@example.net", prepopulated=True)
    assert signed_in.post("/ssprsetup/email/confirm/")["Location"] == "/ssprsetup/email/send/"
    page = signed_in.get("/ssprsetup/email/send/").content.decode()
    steps = re.search(r'<nav aria-label="Progress" class="steps">.*?</nav>', page, re.S).group(0)
    assert steps.count('aria-current="step"') == 1
    assert re.search(r'<li class="done">\s*<span class="visually-hidden">Done:', steps)
    assert re.search(r'<li class="current" aria-current="step">', steps)
    # The code page, which the send answers with, keeps the three steps: the last is current.
    sent = signed_in.post("/ssprsetup/email/send/", {"channel": "email"}).content.decode()
    assert progress(sent) == ["done", "done", "current"]
    assert progress(signed_in.get("/ssprsetup/email/verify/").content.decode()) == [
        "done",
        "done",
        "current",
    ]
    # An address typed instead gets its code at once: two steps.
    typed = signed_in.post("/ssprsetup/email/", {"email": "ann.work@example.net"})
    assert progress(typed.content.decode()) == ["done", "current"]


def progress(page: str) -> list[str]:
    """The classes of the step indicator's items, in order."""
    steps = re.search(r'<nav aria-label="Progress" class="steps">.*?</nav>', page, re.S).group(0)
    return re.findall(r'<li class="(\w*)"', steps)


def test_overview_costs_the_same_queries_however_many_methods_and_users(signed_in, user, make_user):
    with CaptureQueriesContext(connection) as empty:
        signed_in.get("/ssprsetup/")
    register_phone(signed_in)
    register_email(signed_in)
    signed_in.post("/ssprsetup/questions/", questions_data(3))
    for index in range(10):
        make_user(f"other{index}")
    with CaptureQueriesContext(connection) as full:
        signed_in.get("/ssprsetup/")
    assert len(full) == len(empty)
    assert len(full) <= 8


def test_the_overview_reads_the_person_methods_and_registration_in_one_query(signed_in, user):
    """The session's person with their methods and registration, all in one query
    (registration/middleware.py): no query of its own for the registration, registered or
    not."""

    def reads():
        with CaptureQueriesContext(connection) as queries:
            page = signed_in.get("/ssprsetup/").content.decode()
        sqls = [q["sql"] for q in queries.captured_queries]
        on_people = [sql for sql in sqls if 'FROM "auth_user"' in sql]
        alone = [sql for sql in sqls if 'FROM "registration_registration"' in sql]
        return page, len(on_people), alone

    page, people, alone = reads()
    assert "0 of 2 required methods verified" in page
    assert (people, alone) == (1, [])
    register_phone(signed_in)
    register_email(signed_in)
    assert Registration.objects.get(user=user).completed_at is not None
    page, people, alone = reads()
    assert "You are registered" in page
    assert (people, alone) == (1, [])


def test_setup_pages_and_a_method_added_read_the_registration_with_the_methods(signed_in, user):
    """What a setup page says is still needed, and the completion check after a method is
    added, read the registration in the query of the person's methods (registration/apps.py)."""
    from tests.support.registering import last_email_code

    def alone(call, *args):
        with CaptureQueriesContext(connection) as queries:
            response = call(*args)
        reads = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith('SELECT "registration_registration"')
        ]
        return response, reads

    page, reads = alone(signed_in.get, "/ssprsetup/phone/")
    assert "needs 2 more verified methods" in page.content.decode() and reads == []
    register_phone(signed_in)
    signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    done, reads = alone(signed_in.post, "/ssprsetup/email/verify/", {"code": last_email_code()})
    assert done.status_code == 302 and reads == []
    assert Registration.objects.get(user=user).completed_at is not None  # recorded there


# --- Recording a finish: one statement where the row is as read, a lock where it is not ------


def finish_now(user, policy, rf, *, known):
    """registration_finish as a page calls it, with the row as that page read it (`known`)."""
    from dataclasses import replace

    from registration.flows import registration_finish, registration_status

    status = replace(registration_status(user=user, policy=policy), registration=known)
    request = rf.post("/ssprsetup/finish/")
    request.user = user
    return registration_finish(request=request, user=user, policy=policy, status=status)


@pytest.fixture
def can_finish(user, policy):
    from django.utils import timezone

    from methods.models import AuthenticationEmail

    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=user, email="alice@example.org", verified_at=now)
    return user


def test_a_first_finish_is_one_insert_and_a_completion(can_finish, policy, rf):
    with CaptureQueriesContext(connection) as queries:
        outcome = finish_now(can_finish, policy, rf, known=None)
    assert outcome is EventKind.REGISTRATION_COMPLETED
    # (the SELECT is the status a page reads anyway; nothing is read again under a lock)
    statements = [q["sql"] for q in queries if "registration_registration" in q["sql"]]
    writes = [sql for sql in statements if not sql.startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT")
    assert not any("FOR UPDATE" in sql for sql in statements)
    row = Registration.objects.get(user=can_finish)
    assert row.completed_at == row.last_confirmed_at and not row.reconfirmation_required


def test_a_finish_after_postponing_completes_the_row_and_keeps_the_postponements(
    can_finish, policy, rf
):
    known = Registration.objects.create(user=can_finish, skips_used=2)
    assert finish_now(can_finish, policy, rf, known=known) is EventKind.REGISTRATION_COMPLETED
    row = Registration.objects.get(user=can_finish)
    assert row.completed_at and row.skips_used == 2


def test_a_finish_of_a_completed_registration_confirms_it(can_finish, policy, rf):
    from datetime import timedelta

    from django.utils import timezone

    then = timezone.now() - timedelta(days=400)
    known = Registration.objects.create(
        user=can_finish, completed_at=then, last_confirmed_at=then, reconfirmation_required=True
    )
    assert finish_now(can_finish, policy, rf, known=known) is EventKind.REGISTRATION_CONFIRMED
    row = Registration.objects.get(user=can_finish)
    assert row.completed_at == then and row.last_confirmed_at > then
    assert not row.reconfirmation_required


@pytest.mark.parametrize(
    "outside",
    [
        pytest.param(False, marks=pytest.mark.django_db),
        # As on a page: no transaction around it, the refused insert alone in its own.
        pytest.param(True, marks=pytest.mark.django_db(transaction=True)),
    ],
)
def test_a_finish_that_meets_a_completion_made_meanwhile_only_confirms(
    outside, can_finish, policy, rf
):
    """Two tabs finish at once: both read no row; the second meets the first's row, so one
    completion is recorded and the second is a confirmation."""
    assert connection.in_atomic_block is not outside
    assert finish_now(can_finish, policy, rf, known=None) is EventKind.REGISTRATION_COMPLETED
    assert finish_now(can_finish, policy, rf, known=None) is EventKind.REGISTRATION_CONFIRMED
    # Both read a row not completed yet: one completes it, the other confirms.
    Registration.objects.filter(user=can_finish).update(completed_at=None)
    known = Registration.objects.get(user=can_finish)
    assert finish_now(can_finish, policy, rf, known=known) is EventKind.REGISTRATION_COMPLETED
    assert finish_now(can_finish, policy, rf, known=known) is EventKind.REGISTRATION_CONFIRMED
    assert Registration.objects.filter(user=can_finish).count() == 1
    kinds = list(Event.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        EventKind.REGISTRATION_COMPLETED,
        EventKind.REGISTRATION_CONFIRMED,
        EventKind.REGISTRATION_COMPLETED,
        EventKind.REGISTRATION_CONFIRMED,
    ]
