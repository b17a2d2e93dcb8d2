"""The password sign-in of the embedded mode: Django's own, with the session's person read
through a query compiled once (sspr_site/compiled_query.py), as every request does."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .compiled_query import active_user


class PasswordBackend(ModelBackend):
    def get_user(self, user_id):
        return active_user(user_id)
