"""Each error in a page's summary links to a control the keyboard lands on: the field's own
input, or a choice's first button (a radio group's box cannot take the focus)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.support.resets import start_reset

LINK = re.compile(r'<a href="#([^"]+)">')


def linked_controls(html: str) -> list[str]:
    summary = html[html.index('id="error-summary"') :].split("</div>")[0]
    targets = LINK.findall(summary)
    assert targets, summary
    found = []
    for target in targets:
        control = re.search(rf'<(input|select|textarea)\b[^>]*\bid="{re.escape(target)}"', html)
        assert control, f"#{target} is not a control on the page"
        found.append(f"{control.group(1)}#{target}")
    return found


@pytest.mark.django_db
def test_a_choice_left_unanswered_links_to_its_first_button(make_user):
    make_user("morgan")
    client = Client()
    assert start_reset(client, "morgan", action=None).status_code == 302
    response = client.post("/passwordreset/action/", {})
    assert response.status_code == 200
    assert linked_controls(response.content.decode()) == ["input#id_action_0"]


@pytest.mark.django_db
def test_a_text_field_links_to_its_box(client):
    response = client.post("/ssprsetup/signin/", {"username": "", "password": ""})
    assert linked_controls(response.content.decode()) == [
        "input#id_username",
        "input#id_password",
    ]
