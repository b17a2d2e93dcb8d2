"""The helpdesk's pages (below /helpdesk/pass/) and the person's (below /ssprsetup/pass/),
mounted by sspr_site/urls.py ahead of the helpdesk's and the registration's own."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "accesspass"

urlpatterns = [
    path("helpdesk/pass/users/<int:user_id>/", views.issue, name="issue"),
    path("helpdesk/pass/requests/<int:pk>/", views.request_status, name="request"),
    path("helpdesk/pass/approvals/", views.approvals, name="approvals"),
    path("ssprsetup/pass/", views.sign_in, name="signin"),
    path("ssprsetup/pass/welcome/", views.welcome, name="welcome"),
    path("ssprsetup/pass/password/", views.set_password, name="password"),
]
