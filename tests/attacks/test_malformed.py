"""Inputs that once broke pages, each answered with a clear message instead of a server error."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import Event, EventKind

pytestmark = pytest.mark.django_db

# 300 characters, or 20 that NFKC turns into 360.
OVERLONG = ["u" * 300, "ﷺ" * 20]


@pytest.mark.parametrize("username", OVERLONG)
@pytest.mark.parametrize("path", ["/ssprsetup/signin/", "/admin/login/"])
def test_overlong_usernames_at_sign_in_get_a_message(client, path, username):
    response = client.post(path, {"username": username, "password": "whatever"})
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


@pytest.fixture
def desk(helpdesk_client) -> Client:
    return helpdesk_client


@pytest.mark.parametrize("query", ["x" * 100_000, "x " * 30_000])
def test_helpdesk_search_with_overlong_text(desk, query):
    for path in ("/helpdesk/", "/helpdesk/export.csv"):
        response = desk.get(path, {"q": query, "state": query, "method": query, "sort": query})
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/helpdesk/", {"q": "a\x00b"}),
        ("/helpdesk/export.csv", {"state": "\x00"}),
        ("/admin/auth/user/", {"q": "a\x00b"}),
        ("/admin/audit/event/", {"kind": "\x00"}),
        ("/admin/auth/user/", {"sspr_state": "\x00"}),
    ],
)
def test_nul_characters_are_refused_with_a_message(desk, admin_client, path, data):
    client = desk if path.startswith("/helpdesk") else admin_client
    response = client.get(path, data)
    assert response.status_code == 400
    assert "cannot be processed" in response.content.decode()


def test_nul_characters_in_a_form_are_refused_and_change_nothing(client, user):
    response = client.post("/ssprsetup/signin/", {"username": "ali\x00ce", "password": "x"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("query", ["x" * 100_000, "x " * 30_000])
@pytest.mark.parametrize(
    "path", ["/admin/auth/user/", "/admin/audit/event/", "/admin/registration/registration/"]
)
def test_admin_search_with_overlong_text_is_shortened_with_a_message(admin_client, path, query):
    response = admin_client.get(path, {"q": query})
    assert response.status_code == 200
    assert "Only the first" in response.content.decode()


@pytest.mark.parametrize(
    "header",
    [b"user\x00name,consent\n", b'"username,consent\n', b"\xff\xfe\x00u\x00s\x00", b"\r\r\r\n"],
)
def test_a_contact_file_whose_header_breaks_the_parser(admin_client, header):
    upload = SimpleUploadedFile("contacts.csv", header + b"alice,yes\n")
    response = admin_client.post(
        "/admin/auth/user/import-contact-info/", {"file": upload, "dry_run": "on"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errornote"' in page
    assert not Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).exists()
