"""The helpdesk's temporary access passes (accesspass/): the groups whose members issue and
approve passes, issuing one for an account, reading it off the page that shows it once, and
using it at the setup portal."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, Permission
from django.test import Client

PASS_PATTERN = re.compile(r"<code>([2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){3})</code>")


def helpdesk_group() -> Group:
    """The Helpdesk group, made again where a transactional test emptied the tables."""
    group, _ = Group.objects.get_or_create(name="Helpdesk")
    group.permissions.add(Permission.objects.get(codename="use_helpdesk"))
    return group


def approvers_group() -> Group:
    group, _ = Group.objects.get_or_create(name="Helpdesk administrators")
    group.permissions.add(
        Permission.objects.get(codename="use_helpdesk"),
        Permission.objects.get(codename="approve_access_pass"),
    )
    return group


def the_pass(response) -> str:
    match = PASS_PATTERN.search(response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def issue(desk: Client, person, verification="in_person", note="Saw her staff card at the desk"):
    """The agent issues a pass for an ordinary account; the response shows it once. The form
    names the person's open pass, as the page showed it (a new pass replaces it)."""
    from accesspass.models import AccessPass

    current = AccessPass.objects.filter(user=person, ended_at__isnull=True).first()
    return desk.post(
        f"/helpdesk/pass/users/{person.pk}/",
        {"verification": verification, "note": note, "replaces": current.pk if current else ""},
    )


def use_pass(client: Client, username: str, value: str):
    return client.post("/ssprsetup/pass/", {"username": username, "access_pass": value})
