"""A temporary access pass is shown once and kept nowhere readable: not in any table (the
pass's own row holds a keyed hash), not in the sessions or the cache, not in the logs, the
audit log, the sign-in lockout's records or the notices."""

from __future__ import annotations

import io
import logging

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.test import Client

from accesspass.models import AccessPass
from tests.support.access_passes import issue, the_pass, use_pass
from tests.test_secrets import sessions_and_cache

pytestmark = pytest.mark.django_db


def every_row() -> str:
    """Every row of every table the site has, as text."""
    rows = []
    for model in apps.get_models():
        if not model._meta.managed:
            continue
        rows += [repr(row) for row in model._default_manager.values()]
    return "\n".join(rows)


def forms_of(value: str) -> list[str]:
    letters = value.replace("-", "")
    return [value, letters, letters.lower(), value.lower(), letters[:8], letters[8:]]


def test_no_pass_is_kept_readable_anywhere(desk, approver_desk, user, make_user, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    # An ordinary account: issued, a wrong name tried with it, used, then a new password.
    value = the_pass(issue(desk, user))
    make_user("bob")
    use_pass(Client(), "bob", value)
    letters = value.replace("-", "")
    # A wrong pass: the last letter changed (to one it is not: one pass in 32 ends in X).
    use_pass(Client(), "alice", letters[:-1] + ("Y" if letters.endswith("X") else "X"))
    person = Client()
    assert use_pass(person, "alice", value).status_code == 302
    new = "Lighthouse-copper-kettle-2027"
    person.post("/ssprsetup/pass/password/", {"new_password1": new, "new_password2": new})
    # An administrator account, approved by a second person.
    ada = make_user("ada", staff=True)
    issue(desk, ada, note="Known voice")
    item = AccessPass.objects.get(user=ada)
    approver_desk.post(f"/helpdesk/pass/requests/{item.pk}/", {"action": "approve"})
    second = the_pass(desk.post(f"/helpdesk/pass/requests/{item.pk}/", {"action": "show"}))
    admin_session = Client()
    use_pass(admin_session, "ada", second)
    # New starters, from the command, to a file.
    make_user("nia")
    output = tmp_path / "passes.csv"
    call_command(
        "issue_access_pass", "nia", output=str(output), stdout=io.StringIO(), stderr=io.StringIO()
    )
    third = output.read_text().splitlines()[1].split(",")[1]

    haystacks = {
        "tables": every_row(),
        "logs": caplog.text,
        "mail": "\n".join(f"{m.subject}\n{m.body}" for m in mail.outbox),
        **sessions_and_cache(),
    }
    assert mail.outbox, "notices were sent"
    for secret in (value, second, third):
        for form in forms_of(secret):
            for where, text in haystacks.items():
                assert form not in text, f"{form!r} found in {where}"
