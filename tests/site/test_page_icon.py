"""Every page declares its icon: a browser then asks for no /favicon.ico, which the site does
not serve and would answer with its "page not found"."""

from __future__ import annotations

import pytest

ICON = '<link rel="icon" href="data:,">'

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/passwordreset/", "/ssprsetup/signin/", "/no/such/page/", "/admin/login/"]
)
def test_every_kind_of_page_declares_its_icon(client, path):
    response = client.get(path)
    assert ICON in response.content.decode()


def test_the_admin_pages_declare_it_too(admin_client):
    pk = admin_client.admin.pk
    for path in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{pk}/change/"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert ICON in response.content.decode(), path
    assert admin_client.get("/favicon.ico").status_code == 404  # what the icon spares a browser
