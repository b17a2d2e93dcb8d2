"""A GET of /ssprsetup reads the signed-in person with their methods in one query
(registration/middleware.py): what the page shows is what is stored now, and everything the
person's own query decides (signed out when disabled, self-service paused) still holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from methods.models import AuthenticationPhone
from tests.support.registering import register_phone

pytestmark = pytest.mark.django_db


def read_with_methods(response) -> bool:
    from methods.registry import PERSON_WITH_METHODS
    from sspr_site.compiled_query import read_with

    return read_with(response.wsgi_request.user) is PERSON_WITH_METHODS


def _people_read(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, [q["sql"] for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]


@pytest.mark.parametrize("path", ["/ssprsetup/", "/ssprsetup/phone/", "/ssprsetup/email/"])
def test_a_setup_page_reads_the_person_once(signed_in, path):
    response, people = _people_read(signed_in, path)
    assert response.status_code == 200
    assert len(people) == 1


def test_each_page_shows_the_methods_as_stored_then(signed_in, user):
    assert "0 of 2 required methods verified" in signed_in.get("/ssprsetup/").content.decode()
    register_phone(signed_in)
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "1 of 2 required methods verified" in page
    AuthenticationPhone.objects.filter(user=user).delete()  # removed by an administrator
    assert "0 of 2 required methods verified" in signed_in.get("/ssprsetup/").content.decode()


def test_a_disabled_account_is_signed_out_on_a_setup_page(signed_in, user):
    user.is_active = False
    user.save()
    response = signed_in.get("/ssprsetup/phone/")
    assert response.status_code == 302 and "/signin/" in response["Location"]


def test_a_paused_person_sees_the_paused_page(signed_in, user):
    from methods.models import BlockReason, SelfServiceBlock

    SelfServiceBlock.objects.create(user=user, reason=BlockReason.NOT_ME)
    page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert "paused" in page.lower()
    assert 'name="number"' not in page


def test_a_post_whose_first_step_reads_the_methods_reads_the_person_with_them(
    signed_in, phone_outbox
):
    """The number sent (its proof check reads the methods before anything changes): the
    person and their methods in one query. So does the code sent back: its proof check is
    made again before the code stores anything (methods/code/setup_views.py, change_gate)."""
    from methods.registry import PERSON_WITH_METHODS
    from sspr_site.compiled_query import read_with

    with CaptureQueriesContext(connection) as queries:
        step = signed_in.post("/ssprsetup/phone/", {"number": "+447400900123", "channel": "sms"})
    assert step.status_code == 200 and b'name="code"' in step.content
    assert read_with(step.wsgi_request.user) is PERSON_WITH_METHODS
    assert len([q for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]) == 1

    code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]
    with CaptureQueriesContext(connection) as queries:
        verified = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert verified.status_code == 302
    assert read_with(verified.wsgi_request.user) is PERSON_WITH_METHODS
    # Read once before the change; locked while the code is checked and the phone saved
    # (methods.lifecycle.lock_person); once more after it, for the notice and the completion.
    assert len([q for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]) == 3


def test_the_proof_check_of_a_post_sees_the_methods_as_the_request_found_them(signed_in, user):
    """A phone registered before this session: adding an email needs a proof with it, and the
    POST's check, made from the person read with their methods, says so."""
    from django.utils import timezone

    from methods.models import AuthenticationPhone

    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    response = signed_in.post("/ssprsetup/email/", {"email": "rita@example.org"})
    assert response.status_code == 302
    assert response["Location"].startswith("/passwordreset/prove/")
    assert read_with_methods(response)
