"""Time limits the person can see coming and extend (WCAG 2.2, 2.2.1; README, "Languages and
accessibility"): the reset attempt's 15 minutes and a code's 10 minutes, each extended on
request at least ten times.

Each tag renders includes/time_limit.html: a sentence that says how long is left and how to get
more (a button that works without JavaScript), and the data js/time-limit.js needs to warn a
minute before the end and extend with one press.

The block is on every page of a reset, twice on a code's page, and most of it (ten sentences) is
the same for everyone: it is rendered once per language and shape (sspr_site/shapes.py).
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from methods.conf import app_settings
from passwordreset import state as reset_state
from sspr_site.shapes import Shape

register = template.Library()

# The warning comes this long before the end (at least 20 seconds, WCAG 2.2.1).
WARN_SECONDS = 60

TIME_LIMIT = Shape(
    "includes/time_limit.html",
    values=(
        "seconds_left",
        "warn_seconds",
        "extend_url",
        "renew_url",
        "hint",
        "next",
        "csrf_token",
        "attempt",
    ),
    shape=("kind", "proof", "extend_url", "renew_url", "attempt"),
)


def render_time_limit(data: dict) -> SafeString:
    if not data.get("show"):
        return mark_safe("")  # noqa: S308 - nothing at all
    return TIME_LIMIT.render(data)


@register.simple_tag(takes_context=True)
def reset_time_limit(context):
    return render_time_limit(_reset_time_limit(context))


@register.simple_tag(takes_context=True)
def code_time_limit(context, method, reset: bool = False, code=None):
    return render_time_limit(_code_time_limit(context, method, reset, code))


def _reset_time_limit(context):
    """The reset attempt: 15 minutes, another 15 on request (passwordreset.views.more_time)."""
    request = context.get("request")
    state = reset_state.load(request) if request is not None else None
    if state is None:
        return {"show": False}
    return {
        "show": True,
        "kind": "attempt",
        # A proof before a change (passwordreset/state.py) is not a reset: it says so.
        "proof": state.action == reset_state.Action.PROVE,
        "seconds_left": state.seconds_left,
        "warn_seconds": WARN_SECONDS,
        "extend_url": reverse("passwordreset:more_time") if state.extensions_left else "",
        "hint": reset_state.more_time_hint(state.extensions_left),
        # Back to the page itself, also when it came as the answer to a form.
        "next": context.get("page_address") or request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        # The attempt this page belongs to: a press from a tab a newer attempt replaced gives
        # the newer one no time (passwordreset.views.more_time).
        "attempt": state.attempt,
    }


def _code_time_limit(context, method, reset: bool = False, code=None):
    """A code's 10 minutes, another 10 on request up to CODE_EXTENSIONS times
    (methods/code/more_time.py); past that, or once it ended, a new code. On the reset page the
    time counts from when the code was asked for, the same for every name; on the setup page
    from the person's own code, `code` (the row the page already read)."""
    request = context.get("request")
    seconds = extensions = None
    attempt = ""
    if request is not None and reset:
        state = reset_state.load(request)
        if state is not None and state.code_asked_at:
            seconds = state.code_seconds_left
            extensions = state.code_extensions
            attempt = state.attempt  # as the attempt's own block (_reset_time_limit)
    elif code is not None and code.token:
        seconds = int((code.valid_until - timezone.now()).total_seconds())
        extensions = code.extensions
    if seconds is None:
        return {"show": False}
    extensions_left = max(0, app_settings.CODE_EXTENSIONS - extensions)
    page = method.reset_page if reset else method.setup_page
    return {
        "show": True,
        "kind": "code",
        "seconds_left": max(0, seconds),
        "warn_seconds": WARN_SECONDS,
        "extend_url": page("more_time") if extensions_left and seconds > 0 else "",
        "hint": method.more_time_hint(extensions_left),
        "renew_url": method.reset_url() if reset else "",
        "csrf_token": context.get("csrf_token"),
        "attempt": attempt,
    }
