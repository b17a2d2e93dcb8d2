"""Sign-in with a temporary access pass: the username and the pass instead of the password.

Listed after django-axes in AUTHENTICATION_BACKENDS, so a locked-out name is refused before
any pass is looked at, and a wrong pass counts as a failed sign-in of the name, like a wrong
password. Its `authenticate` takes `access_pass`, not `password`, so the ordinary sign-in
never reaches it, and it never reaches the directory's password check.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.utils import timezone

from directory.accounts import accounts
from policy.models import Policy
from sspr_site.compiled_query import active_user

from .flows import spend
from .models import AccessPass


class AccessPassBackend(BaseBackend):
    def authenticate(self, request, username=None, access_pass=None):
        if not username or not access_pass:
            return None
        User = get_user_model()
        name = accounts().canonical_username(username)
        user = User.objects.filter(**{User.USERNAME_FIELD: name}).first()
        known = user is not None and user.is_active
        now = timezone.now()
        # The same query and the same keyed hash for every name, with a pass or without, an
        # account or none: the time tells nothing (docs/security.md §12).
        item = AccessPass.objects.filter(
            user_id=user.pk if known else 0, ended_at__isnull=True
        ).first()
        shown = item is not None and bool(item.digest) and item.issued_at is not None
        stand_in = AccessPass(pk=0, user_id=0, issued_at=now, digest="-")
        matched = (item if shown else stand_in).matches(access_pass)
        if not (known and shown and matched and item.usable(now)):
            return None
        if not Policy.load().in_scope(user):
            return None
        if accounts().kind != "none":
            # Only once the pass matched: a person the directory has disabled, or no longer
            # has, does not get in. An unreachable directory raises (one clear page).
            status = accounts().status(user)
            if not status.found or status.disabled:
                return None
        if not spend(item, now):  # a single-use pass another sign-in spent a moment ago
            return None
        user.access_pass = item
        return user

    def get_user(self, user_id):
        return active_user(user_id)
