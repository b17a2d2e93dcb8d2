"""Admin actions with selected ids that cannot be ids: every list of the project with actions
answers with the admin's "select items" message and changes nothing, never a server error."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from methods.models import SecurityQuestion
from registration.models import Registration

pytestmark = pytest.mark.django_db

PROJECT_APPS = {
    "accesspass",
    "audit",
    "delivery",
    "directory",
    "helpdesk",
    "methods",
    "passwordreset",
    "passwords",
    "policy",
    "registration",
}
NOT_IDS = ["abc", "1.5", "", "99999999999999999999", "1; DROP TABLE x"]


def lists_with_actions(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        if type(model_admin).__module__.split(".")[0] not in PROJECT_APPS:
            continue  # Django's and django-axes' own lists
        actions = model_admin.get_actions(request)
        for name in actions:
            yield model, name


def _cases():
    # Named here, checked against the admin's own list below, so a new list is not missed.
    return [
        ("auth.user", "require_reconfirmation"),
        ("auth.user", "delete_selected"),
        ("auth.group", "delete_selected"),
        ("methods.securityquestion", "activate"),
        ("methods.securityquestion", "deactivate"),
        ("passwords.bannedword", "delete_selected"),
        ("audit.streamdeadletter", "send_again"),
        ("audit.streamdeadletter", "delete_selected"),
        # The lockout's records (directory/admin.py): removing them clears a lockout.
        ("axes.accessattempt", "delete_selected"),
    ]


def test_every_list_with_actions_is_checked_here(admin_client):
    found = {
        (model._meta.label_lower, name) for model, name in lists_with_actions(admin_client.admin)
    }
    assert found == set(_cases())


@pytest.mark.parametrize(("label", "action"), _cases())
@pytest.mark.parametrize("not_an_id", NOT_IDS)
def test_an_action_on_an_id_that_cannot_be_one_changes_nothing(
    admin_client, make_user, approved_questions, label, action, not_an_id
):
    make_user("kept")
    Registration.objects.get_or_create(user=admin_client.admin)
    app, model = label.split(".")
    url = f"/admin/{app}/{model}/"
    before = (
        sorted(SecurityQuestion.objects.values_list("pk", "active")),
        Registration.objects.count(),
    )
    for extra in ({"index": "0"}, {"post": "yes"}):  # the action, and a confirmation page
        response = admin_client.post(
            url, {"action": action, "_selected_action": [not_an_id], **extra}, follow=True
        )
        assert response.status_code == 200
        assert "Items must be selected in order to perform actions on them" in (
            response.content.decode()
        )
    after = (
        sorted(SecurityQuestion.objects.values_list("pk", "active")),
        Registration.objects.count(),
    )
    assert after == before
