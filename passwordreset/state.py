"""The state of one reset attempt. It lives in the server-side session only; the browser holds
nothing but the session cookie. It expires after 15 minutes, or 15 minutes after the person last
asked for more time (WCAG 2.2, 2.2.1; at most MAX_EXTENSIONS times)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields

from django.http import HttpRequest
from django.utils.translation import ngettext

from methods.conf import app_settings as code_settings

SESSION_KEY = "sspr_reset"
# Whether the live code was asked for by a call (the person's own choice: the code page says
# it is read out). Kept beside the attempt rather than in it: a host still on the version
# before, while several serve the site, reads the attempt as it knows it.
BY_CALL_KEY = "sspr_reset_by_call"
LIFETIME_SECONDS = 15 * 60
# The person may ask for another 15 minutes this often (WCAG 2.2, 2.2.1: at least ten times).
MAX_EXTENSIONS = 20
# The longest an attempt can live; its counters (sends, tries) are kept at least this long.
LONGEST_SECONDS = LIFETIME_SECONDS * (MAX_EXTENSIONS + 1)


class Action:
    RESET = "reset"
    UNLOCK = "unlock"
    # A signed-in person proving a registered method before changing methods (methods/proof.py):
    # it never reaches the new-password step, and the action page cannot turn it into a reset.
    PROVE = "prove"


@dataclass
class ResetState:
    attempt: str  # random id, correlates the audit events of one attempt
    user_id: int | None  # None for an unknown or unusable account: the pages look the same
    username: str
    started_at: float
    action: str = ""
    # The solved check of the first page that started it (passwordreset/captcha.py, solved):
    # that form sent again leads to this attempt's methods page, and starts nothing.
    check: str = ""
    passed: list[str] = field(default_factory=list)  # method kinds passed, in order
    questions: list[int] = field(default_factory=list)  # question ids asked
    code_method: str = ""  # the method a code was (or seemed to be) sent for
    # When a code was last asked for (for every name alike: it says nothing of whether one
    # went out), so the code page can warn before its 10 minutes end.
    code_asked_at: float = 0.0
    code_extensions: int = 0  # the live code's "more time" so far (methods/code/reset_views.py)
    # The form that asked for the live code: a keyed digest of the send page's own token with
    # what it asked for, so the same form sent again asks for nothing (methods/code/reset_views.py).
    code_form: str = ""
    renewed_at: float = 0.0  # the last "more time" (the 15 minutes count from then)
    extensions: int = 0
    # A keyed digest of the account's stored password when a reset or an unlock began
    # (passwordreset.flows.account_stamp): the last step refuses once it differs. A proof
    # before a change keeps none: it ends at the setup pages, never at that step.
    account: str = ""

    @property
    def seconds_left(self) -> int:
        return max(0, int(max(self.started_at, self.renewed_at) + LIFETIME_SECONDS - time.time()))

    @property
    def code_seconds_left(self) -> int:
        """Seconds until the code asked for last stops working (0: none asked for, or ended);
        counted from the request, the same for every name."""
        if not self.code_asked_at:
            return 0
        ends = self.code_asked_at + code_settings.CODE_VALID_SECONDS
        # Rounded up: a code with part of a second left still works (and can get more time).
        return max(0, math.ceil(ends - time.time()))

    @property
    def expired(self) -> bool:
        return time.time() - max(self.started_at, self.renewed_at) > LIFETIME_SECONDS

    @property
    def extensions_left(self) -> int:
        return max(0, MAX_EXTENSIONS - self.extensions)

    def extend(self) -> bool:
        """Another 15 minutes from now, while extensions are left."""
        if self.expired or not self.extensions_left:
            return False
        self.renewed_at = time.time()
        self.extensions += 1
        return True

    def save(self, request: HttpRequest) -> None:
        request.session[SESSION_KEY] = asdict(self)


_FIELDS = frozenset(each.name for each in fields(ResetState))


def load(request: HttpRequest) -> ResetState | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        # A field this version does not know (written by a newer host, while several versions
        # serve the site) is left out rather than losing the attempt.
        state = ResetState(**{key: value for key, value in data.items() if key in _FIELDS})
    except TypeError:
        return None
    return None if state.expired else state


def clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(BY_CALL_KEY, None)


def note_channel(request: HttpRequest, by_call: bool) -> None:
    request.session[BY_CALL_KEY] = by_call


def code_by_call(request: HttpRequest) -> bool:
    return request.session.get(BY_CALL_KEY) is True


def more_time_hint(extensions_left: int) -> str:
    """The sentence beside the attempt's More time button (includes/time_limit.html), for the
    count left: rendered with the page, and sent to the script after a press."""
    if not extensions_left:
        return ""
    return ngettext(
        "Need more time? You can ask for another 15 minutes once more.",
        "Need more time? You can ask for another 15 minutes up to %(times)s times.",
        extensions_left,
    ) % {"times": extensions_left}
