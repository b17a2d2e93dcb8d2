"""django-axes' database handler with each deletion one statement (`AXES_HANDLER`;
docs/performance.md, "A fifteenth look").

axes deletes its failure records through the ORM, and its model has a delete signal, so each
deletion reads the rows first and then deletes them in a transaction of its own, even when
there is nothing to delete. At every successful sign-in it deletes twice: every name's failures
past the cool-off, and the name's own. After a wave of failed sign-ins, the first sign-in past
the cool-off would read every row of the wave into memory and signal each one. Here each
deletion is one DELETE. The signal it skips has nothing to do for this handler (axes' database
handler keeps nothing when a record goes). With attempt expirations
(`AXES_USE_ATTEMPT_EXPIRATION`, off here), whose rows hang off the records, axes' own way.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.db.models import Q, QuerySet
from django.http import QueryDict


def _delete(attempts: QuerySet) -> int:
    """One DELETE for the rows `attempts` selects: how many went."""
    return attempts._raw_delete(attempts.db)


class _WithoutForm:
    """`request` as django-axes sees it when it records a failure: without its query and form.
    axes keeps both with each failure (and masks only fields named like a password), so a new
    password, a code or a name typed in the wrong box would be kept in clear and shown in the
    admin (docs/security.md rules 19 and 21). Whatever axes sets on it is set on `request`."""

    def __init__(self, request):
        object.__setattr__(self, "_request", request)

    def __getattr__(self, name):
        if name in ("GET", "POST"):
            return QueryDict()
        return getattr(self._request, name)

    def __setattr__(self, name, value):
        setattr(self._request, name, value)


class LockoutHandler(AxesDatabaseHandler):
    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is not None:
            request = _WithoutForm(request)
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def clean_expired_user_attempts(self, request=None, credentials=None) -> int:
        if settings.AXES_COOLOFF_TIME is None or settings.AXES_USE_ATTEMPT_EXPIRATION:
            return super().clean_expired_user_attempts(request, credentials)
        threshold = get_cool_off_threshold(request)
        return _delete(AccessAttempt.objects.filter(attempt_time__lte=threshold))

    def reset_user_attempts(self, request, credentials=None) -> int:
        if settings.AXES_USE_ATTEMPT_EXPIRATION:
            return super().reset_user_attempts(request, credentials)
        return sum(_delete(each) for each in self.filter_user_attempts(request, credentials))

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        if settings.AXES_USE_ATTEMPT_EXPIRATION:
            return super().reset_attempts(
                ip_address=ip_address, username=username, ip_or_username=ip_or_username
            )
        attempts = AccessAttempt.objects.all()
        if ip_or_username:
            attempts = attempts.filter(Q(ip_address=ip_address) | Q(username=username))
        else:
            if ip_address:
                attempts = attempts.filter(ip_address=ip_address)
            if username:
                attempts = attempts.filter(username=username)
        return _delete(attempts)
