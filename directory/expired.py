"""The sign-in's note that a person proved their password but must change it first (the
README's "Directory": an expired or must-change password is changed at /ssprsetup/password/).

The session holds only the person's id, the reason and an end time: never the password, so
the change page asks for the current one again and the directory checks it again.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model

SESSION_KEY = "sspr_change_needed"
TICKET_SECONDS = 900
REASONS = ("expired", "must_change")


def issue(request, user, reason: str) -> None:
    # A new session key: a session planted before the sign-in carries nothing of it.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user": user.pk,
        "reason": reason if reason in REASONS else "expired",
        "until": time.time() + TICKET_SECONDS,
    }


def ticket(request):
    """(user, reason) while the note lasts, else None."""
    note = request.session.get(SESSION_KEY)
    if not isinstance(note, dict) or note.get("until", 0) < time.time():
        return None
    user = get_user_model().objects.filter(pk=note.get("user"), is_active=True).first()
    return (user, note.get("reason", "expired")) if user else None


def spend(request) -> None:
    request.session.pop(SESSION_KEY, None)
