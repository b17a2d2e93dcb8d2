"""A wrong method on a POST-only address gets the site's own page, not the browser's
"HTTP ERROR 405" (docs/security.md §28), with the status and its Allow header."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db

SENTENCE = "Go back and use the buttons on the page."


def assert_site_page(response, *allowed: str) -> str:
    page = response.content.decode()
    assert response.status_code == 405
    assert {method.strip() for method in response["Allow"].split(",")} >= set(allowed)
    assert response["Content-Type"].startswith("text/html")
    assert "This page cannot be opened this way" in page and SENTENCE in page
    assert 'class="site-header"' in page and 'href="/ssprsetup/"' in page
    return page


@pytest.mark.parametrize("path", ["/ssprsetup/signout/", "/ssprsetup/skip/"])
def test_opening_a_sign_in_forms_address_gets_the_site_page(client, user, settings, path):
    settings.DEBUG = False
    past_sign_in_check(client, user)
    response = client.get(path)
    page = assert_site_page(response, "POST")
    assert "GET" not in response["Allow"]
    assert "Sign out" in page  # the page's own button is there to use


def test_the_helpdesks_lift_the_block_address_gets_the_site_page(helpdesk_client, user):
    response = helpdesk_client.get(f"/helpdesk/users/{user.pk}/reset-block/")
    assert_site_page(response, "POST")
    assert "GET" not in response["Allow"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_the_reset_portal_answers_other_methods_with_the_site_page(method):
    client = Client()
    client.get("/passwordreset/")  # the CSRF cookie, as a browser would have it
    token = client.cookies["csrftoken"].value
    response = getattr(client, method)("/passwordreset/", headers={"X-CSRFToken": token})
    assert_site_page(response, "GET", "POST")
    assert method.upper() not in response["Allow"]


def test_the_page_is_in_the_readers_language(client, user):
    past_sign_in_check(client, user)
    response = client.get("/ssprsetup/signout/", headers={"Accept-Language": "de"})
    page = response.content.decode()
    assert response.status_code == 405 and "POST" in response["Allow"]
    assert '<html lang="de"' in page and "Zur Startseite" in page


def test_a_probe_keeps_its_short_answer(client):
    response = client.post("/healthz")
    assert response.status_code == 405 and response.content == b""
