from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.log import record
from audit.models import EventKind

from .session import CHECK_AFTER_SIGN_IN, mark_password_checked


@receiver(user_logged_in)
def remember_sign_in(sender, request, user, **kwargs):
    if request is None:
        return
    mark_password_checked(request)
    request.session[CHECK_AFTER_SIGN_IN] = True
    record(EventKind.SIGNED_IN, request=request, actor=user, subject=user)


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    # The typed username may be a password pasted in the wrong box: it is not recorded.
    record(EventKind.SIGN_IN_FAILED, request=request)
