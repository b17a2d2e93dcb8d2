"""A policy that asks more ends the registrations it no longer finds complete
(registration.flows.lapse_short): someone shown as registered can reset (docs/security.md
rule 14)."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Event, EventKind
from delivery import outbox
from policy.models import Policy
from registration import flows
from registration.models import Registration
from registration.queries import RegistrationState, with_state
from tests.registration.test_admin import confirmed, policy_form
from tests.registration.test_admin_users import give

# Committed as in production: the save's check runs once the policy's transaction commits,
# and its message reaches the page that follows.
pytestmark = pytest.mark.django_db(transaction=True)


def registered(make_user, name, **methods):
    person = make_user(name, password=None)
    give(person, **methods)
    now = timezone.now()
    Registration.objects.create(user=person, completed_at=now, last_confirmed_at=now)
    return person


@pytest.fixture
def lenient(approved_questions):
    policy = Policy.load()
    policy.methods_required = 1
    policy.reset_methods_required = 1
    policy.save()
    return policy


def state_of(person) -> str:
    row = with_state(type(person).objects.filter(pk=person.pk), Policy.load()).get()
    return row.sspr_state


def lapsed_names() -> list[str]:
    events = Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).select_related("subject")
    return sorted(event.subject.username for event in events)


def test_a_stricter_policy_ends_the_registrations_it_no_longer_finds_complete(
    admin_client, make_user, lenient
):
    one = registered(make_user, "one", phone=True)
    two = registered(make_user, "two", phone=True, email=True)
    quiz = registered(make_user, "quiz", phone=True, answers=3)
    preview = admin_client.post("/admin/policy/policy/1/change/", policy_form(methods_required="2"))
    assert preview.status_code == 200  # the impact page: nothing saved, nothing ended yet
    # Nobody loses their reset (one method still resets), but one registration would end.
    assert "1 registration would end" in preview.content.decode()
    assert state_of(one) == RegistrationState.REGISTERED
    data = policy_form(methods_required="2") | confirmed(preview.content.decode())
    page = admin_client.post("/admin/policy/policy/1/change/", data, follow=True)
    assert "1 registration no longer meets this policy. It ends within minutes" in (
        page.content.decode()
    )
    assert Policy.load().methods_required == 2
    # One method where two are now asked for: not registered, and told why in the history.
    assert state_of(one) == RegistrationState.NOT_REGISTERED
    assert state_of(two) == state_of(quiz) == RegistrationState.REGISTERED
    event = Event.objects.get(kind=EventKind.REGISTRATION_LAPSED)
    assert event.subject == one and event.actor == admin_client.admin
    assert event.details == {"methods_left": ["authentication_phone"], "reason": "policy_changed"}
    history = admin_client.get(f"/helpdesk/users/{one.pk}/").content.decode()
    assert "The policy now asks for more" in history


def test_a_policy_asking_less_or_the_same_ends_nothing(admin_client, make_user, lenient):
    one = registered(make_user, "one", phone=True)
    page = admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(methods_required="1", helpdesk_contact="Call 0100"),
        follow=True,
    )
    assert Policy.load().helpdesk_contact == "Call 0100"
    assert "no longer meet" not in page.content.decode()
    assert state_of(one) == RegistrationState.REGISTERED
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).exists()


def test_the_command_checks_every_registration_a_batch_at_a_time(
    make_user, lenient, monkeypatch, capsys
):
    monkeypatch.setattr(flows, "LAPSE_BATCH", 2)
    short = [registered(make_user, f"short{n}", phone=True) for n in range(3)]
    kept = [registered(make_user, f"kept{n}", phone=True, email=True) for n in range(2)]
    lenient.methods_required = 2
    lenient.save()
    call_command("end_short_registrations")
    out, err = capsys.readouterr()
    assert "Checked 5 registrations; 3 no longer met the policy and ended." in out
    assert err.splitlines() == [
        "2 registrations checked, 2 ended so far",
        "4 registrations checked, 3 ended so far",
        "5 registrations checked, 3 ended so far",
    ]
    assert lapsed_names() == ["short0", "short1", "short2"]
    assert all(state_of(person) == RegistrationState.NOT_REGISTERED for person in short)
    assert all(state_of(person) == RegistrationState.REGISTERED for person in kept)
    # Run again: nothing more to end, and no second event.
    call_command("end_short_registrations")
    assert "3 no longer met" not in capsys.readouterr().out
    assert lapsed_names() == ["short0", "short1", "short2"]


def test_in_the_worker_a_long_check_goes_on_in_the_next_job(
    make_user, lenient, monkeypatch, settings
):
    """A job stops once it has run its time and queues the rest, from the last person it
    checked: every registration is checked once, however many jobs it takes."""
    settings.SSPR_DELIVERY = "queue"
    monkeypatch.setattr(flows, "LAPSE_BATCH", 2)
    monkeypatch.setattr(flows, "LAPSE_JOB_SECONDS", -1)  # every job stops after one batch
    queued = []
    monkeypatch.setattr(outbox, "later", lambda function, **kwargs: queued.append(kwargs))
    for n in range(5):
        registered(make_user, f"short{n}", phone=True)
    lenient.methods_required = 2
    lenient.save()
    flows.lapse_short()
    jobs = 1
    while queued:
        flows.lapse_short(**queued.pop())
        jobs += 1
    assert jobs == 3
    assert lapsed_names() == [f"short{n}" for n in range(5)]


def test_with_the_queue_away_the_policy_is_still_saved_and_the_failure_logged(
    admin_client, make_user, lenient, settings, caplog
):
    from tests.delivery.test_held import _closed_port

    settings.SSPR_DELIVERY = "queue"
    settings.RQ_QUEUES = {"sspr": {"URL": f"redis://127.0.0.1:{_closed_port()}/0"}}
    one = registered(make_user, "one", phone=True)
    preview = admin_client.post("/admin/policy/policy/1/change/", policy_form(methods_required="2"))
    data = policy_form(methods_required="2") | confirmed(preview.content.decode())
    with caplog.at_level(logging.ERROR, logger="registration.signals"):
        response = admin_client.post("/admin/policy/policy/1/change/", data, follow=True)
    page = response.content.decode()
    assert "the 1 registration that no longer meets it could not be ended" in page
    assert "end_short_registrations" in page and "It ends within minutes" not in page
    assert Policy.load().methods_required == 2
    assert "registrations not checked against the new policy" in caplog.text
    assert state_of(one) == RegistrationState.REGISTERED  # until the command runs
    call_command("end_short_registrations")
    assert state_of(one) == RegistrationState.NOT_REGISTERED


def test_a_narrower_scope_is_confirmed_but_ends_no_registration_and_says_none(
    admin_client, make_user, lenient
):
    """Asking more of nobody's methods (a narrower scope: people out of it cannot use the
    portal at all), no registration ends, and neither the confirmation nor the saved page
    says one would."""
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Pilot")
    one = registered(make_user, "one", phone=True)
    form = policy_form(methods_required="1", scope="group", scope_group=str(group.pk))
    preview = admin_client.post("/admin/policy/policy/1/change/", form)
    assert "registration would end" not in preview.content.decode()
    page = admin_client.post(
        "/admin/policy/policy/1/change/",
        form | confirmed(preview.content.decode()),
        follow=True,
    )
    assert Policy.load().scope == "group"
    assert "no longer meet" not in page.content.decode()
    assert state_of(one) == RegistrationState.REGISTERED
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"methods_required": "2"},
        {"reset_methods_required": "2"},
        {"method__phone__enabled": None},
        {"method__email__enabled": None, "methods_required": "1"},
    ],
    ids=["more to register", "more to reset", "phone off", "email off"],
)
def test_the_confirmation_counts_the_registrations_the_save_ends(
    admin_client, make_user, lenient, changes
):
    """The impact page's count (in SQL, policy.admin.registrations_ending) is the number the
    save's check ends (in Python, registration.flows.lapse_short), whatever the change."""
    import re

    registered(make_user, "phone", phone=True)
    registered(make_user, "email", email=True)
    registered(make_user, "both", phone=True, email=True)
    registered(make_user, "staff", phone=True, email=True).__class__.objects.filter(
        username="staff"
    ).update(is_staff=True)
    registered(make_user, "quiz", phone=True, answers=3)
    form = policy_form(**{"methods_required": "1", **changes})
    preview = admin_client.post("/admin/policy/policy/1/change/", form).content.decode()
    said = re.search(r"(\d+) registrations? would end", preview)
    admin_client.post("/admin/policy/policy/1/change/", form | confirmed(preview))
    ended = Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).count()
    assert ended > 0
    assert said is not None and int(said.group(1)) == ended


@pytest.mark.parametrize("retired_by", ["its page", "the list's action"])
def test_retiring_an_answered_question_ends_the_registrations_it_leaves_short(
    admin_client, make_user, lenient, retired_by
):
    """Answers to a question no longer offered count nowhere (the portal never asks it): a
    person registered with those answers alone is no longer registered, and told why in their
    history; a person whose other methods still meet the policy stays registered."""
    from methods.models import SecurityAnswer

    lenient.questions_alone_allowed = True
    lenient.save()
    quiz = registered(make_user, "quizonly", answers=3)
    both = registered(make_user, "both", phone=True, answers=3)
    question = SecurityAnswer.objects.filter(user=quiz).first().question
    if retired_by == "its page":
        url = f"/admin/methods/securityquestion/{question.pk}/change/"
        page = admin_client.post(url, {"text": question.text}, follow=True)
    else:
        page = admin_client.post(
            "/admin/methods/securityquestion/",
            {"action": "deactivate", "_selected_action": [question.pk]},
            follow=True,
        )
    assert "Answers to a retired question no longer count: 2 people" in page.content.decode()
    assert state_of(quiz) == RegistrationState.NOT_REGISTERED
    assert state_of(both) == RegistrationState.REGISTERED
    event = Event.objects.get(kind=EventKind.REGISTRATION_LAPSED)
    assert event.subject == quiz and event.actor == admin_client.admin
    assert event.details == {"methods_left": [], "reason": "question_retired"}
    history = admin_client.get(f"/helpdesk/users/{quiz.pk}/").content.decode()
    assert "A security question they answered is no longer offered" in history


def test_retiring_a_question_nobody_answered_ends_nothing(admin_client, make_user, lenient):
    from methods.models import SecurityAnswer, SecurityQuestion

    lenient.questions_alone_allowed = True
    lenient.save()
    quiz = registered(make_user, "quizonly", answers=3)
    answered = SecurityAnswer.objects.values("question")
    unanswered = SecurityQuestion.objects.filter(active=True).exclude(pk__in=answered).first()
    admin_client.post(
        f"/admin/methods/securityquestion/{unanswered.pk}/change/", {"text": unanswered.text}
    )
    assert state_of(quiz) == RegistrationState.REGISTERED
    assert not Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED).exists()


def test_with_the_queue_away_retired_questions_say_to_run_the_command(
    admin_client, make_user, lenient, settings, caplog
):
    from methods.models import SecurityAnswer
    from tests.delivery.test_held import _closed_port

    settings.SSPR_DELIVERY = "queue"
    settings.RQ_QUEUES = {"sspr": {"URL": f"redis://127.0.0.1:{_closed_port()}/0"}}
    lenient.questions_alone_allowed = True
    lenient.save()
    quiz = registered(make_user, "quizonly", answers=3)
    question = SecurityAnswer.objects.filter(user=quiz).first().question
    with caplog.at_level(logging.ERROR, logger="registration.signals"):
        page = admin_client.post(
            f"/admin/methods/securityquestion/{question.pk}/change/",
            {"text": question.text},
            follow=True,
        ).content.decode()
    assert "could not be ended: the queue did not answer" in page
    assert "end_short_registrations" in page
    assert "registrations not checked after questions retired" in caplog.text
    assert state_of(quiz) == RegistrationState.REGISTERED  # until the command runs
    call_command("end_short_registrations")
    assert state_of(quiz) == RegistrationState.NOT_REGISTERED


def _made_staff(admin_client, person):
    from tests.attacks.test_policy_numbers import admin_form

    data = admin_form(person) | {"is_staff": "on"}
    return admin_client.post(f"/admin/auth/user/{person.pk}/change/", data, follow=True)


def test_an_account_made_staff_whose_registration_falls_short_of_the_administrators_rule(
    admin_client, make_user, lenient
):
    """An administrator's account needs two methods, never security questions: made staff
    with one phone, the registration ends and the page says so; with a phone and an email it
    stands."""
    one = registered(make_user, "one", phone=True)
    two = registered(make_user, "two", phone=True, email=True)
    page = _made_staff(admin_client, one).content.decode()
    assert "One is now staff, and an administrator&#x27;s registration needs more" in page
    assert state_of(one) == RegistrationState.NOT_REGISTERED
    event = Event.objects.get(kind=EventKind.REGISTRATION_LAPSED)
    assert event.subject == one and event.actor == admin_client.admin
    assert event.details == {"methods_left": ["authentication_phone"], "reason": "made_staff"}
    history = admin_client.get(f"/helpdesk/users/{one.pk}/").content.decode()
    assert "Made staff: an administrator&#x27;s registration needs more" in history
    page = _made_staff(admin_client, two).content.decode()
    assert "is now staff" not in page
    assert state_of(two) == RegistrationState.REGISTERED
