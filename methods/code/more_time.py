"""More time for a live code (WCAG 2.2, 2.2.1; docs/security.md §2): another 10 minutes, at
most CODE_EXTENSIONS times, asked for with the code page's own button or by js/time-limit.js
when it warns. Tries are not renewed, so more time is never more guesses. The setup and reset
pages answer through here alike."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

STATUS = {True: 200, False: 409, None: 410}


def hint(extensions_left: int) -> str:
    """The sentence beside a code's More time button (includes/time_limit.html), for the count
    left: rendered with the page, and sent to the script after a press."""
    if not extensions_left:
        return ""
    return ngettext(
        "Need more time to enter the code? You can ask for another 10 minutes once more.",
        "Need more time to enter the code? You can ask for another 10 minutes up to "
        "%(times)s times.",
        extensions_left,
    ) % {"times": extensions_left}


def answer(
    request: HttpRequest,
    extended: bool | None,
    *,
    seconds_left: int,
    extensions_left: int,
    back: str,
) -> HttpResponse:
    """`extended`: True when given, False past the last extension, None once the code ended."""
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(
            {
                "seconds_left": seconds_left,
                "extensions_left": extensions_left,
                "hint": hint(extensions_left),
            },
            status=STATUS[extended],
        )
    if extended:
        messages.success(request, _("Your code works for another 10 minutes."))
    elif extended is False:
        messages.error(request, _("No more time can be added to this code. Ask for a new one."))
    else:
        messages.error(request, _("Your code has stopped working. Ask for a new one."))
    return redirect(back)
