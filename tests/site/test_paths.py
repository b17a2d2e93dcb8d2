"""path_to (sspr_site/paths.py): a page's path by URL name, worked out once per process, is
what reverse() gives, under the request's script prefix and URL configuration."""

from __future__ import annotations

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from methods.registry import REGISTRY
from sspr_site.paths import path_to

NAMES = ["registration:overview", "registration:phone:start", "passwordreset:email:start"]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_as_reverse(name):
    assert path_to(name) == reverse(name)
    assert path_to(name) == path_to(name)


def test_a_method_names_its_own_pages():
    assert REGISTRY["phone"].setup_url() == "/ssprsetup/phone/"
    assert REGISTRY["email"].reset_page("code") == reverse("passwordreset:email:code")


def test_under_another_script_prefix():
    before = path_to("registration:overview")
    set_script_prefix("/sspr/")
    try:
        assert path_to("registration:overview") == "/sspr" + before
    finally:
        clear_script_prefix()
    assert path_to("registration:overview") == before


def test_another_url_configuration(settings):
    path_to("registration:overview")
    settings.ROOT_URLCONF = "tests.site.urls_elsewhere"
    assert path_to("registration:overview") == "/elsewhere/"
