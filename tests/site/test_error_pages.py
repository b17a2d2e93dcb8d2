"""Errors in the site's own layout, with a sentence a person can act on."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db


def test_an_unknown_address_gets_the_site_page_not_found(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and 'class="site-header"' in page
    assert 'href="/passwordreset/"' in page


def test_a_page_without_access_gets_the_site_403(client, user):
    past_sign_in_check(client, user)
    response = client.get("/helpdesk/")
    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


def test_a_form_failing_the_csrf_check_gets_a_plain_explanation(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/ssprsetup/signin/", {"username": "alice", "password": "x"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "The form has expired" in page and "Nothing was changed" in page
    assert "CSRF" not in page  # no jargon


def test_the_server_error_page_needs_neither_database_nor_request(django_assert_num_queries):
    from django.views.defaults import server_error

    request = RequestFactory().get("/ssprsetup/")
    with django_assert_num_queries(0):
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page and "Nothing you entered was saved" in page
    assert "/static/css/site.css" in page
