"""A method added asks the person's stored language twice (its notice is written in it, and
the page's language is remembered if none is stored): read once a request
(registration/language.py, sspr_site/request_memo.py). A language stored during the request is
what the rest of it reads."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from registration.language import remember, stored_language
from registration.models import PreferredLanguage
from sspr_site.request_memo import request_memo
from tests.support.registering import last_email_code, register_phone, shows_code_page

pytestmark = pytest.mark.django_db


def language_reads(queries) -> int:
    return sum(
        q["sql"].startswith("SELECT") and 'FROM "registration_preferredlanguage"' in q["sql"]
        for q in queries.captured_queries
    )


def test_a_method_added_reads_the_language_once(signed_in, user):
    PreferredLanguage.objects.update_or_create(user=user, defaults={"language": "de"})
    register_phone(signed_in)
    assert shows_code_page(
        signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"}), "email"
    )
    code = last_email_code()
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.post("/ssprsetup/email/verify/", {"code": code}).status_code == 302
    assert language_reads(queries) == 1
    # The notice went out in the stored language, whatever the page's.
    (notice,) = [m for m in mail.outbox if "alice.home@example.net" in m.to]
    with translation.override("de"):
        assert translation.gettext("added") in notice.body


def test_a_language_stored_during_the_request_is_read_back(user):
    token = request_memo.set({})
    try:
        assert stored_language(user) is None
        remember(user, "fr", replace=False)
        assert stored_language(user) == "fr"
        remember(user, "pl")
        assert stored_language(user) == "pl"
        PreferredLanguage.objects.filter(user=user).delete()
        PreferredLanguage.objects.get_or_create(user=user, defaults={"language": "de"})
        assert stored_language(user) == "de"
    finally:
        request_memo.reset(token)
