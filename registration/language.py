"""The person's language, remembered (README, "Languages").

It is stored when they choose it with the footer's picker, signed in or just before they sign in
(the picker's cookie, read at sign-in), and otherwise taken from the browser's Accept-Language
the first time they sign in or set up a method. Everything sent to them later (reset codes,
notices, reminders, the helpdesk's caller check) is written in it: `in_language_of(user)`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from methods.lifecycle import method_added
from sspr_site.compiled_query import OneRow
from sspr_site.request_memo import forget, known, once_per_request
from sspr_site.rows import Insert

from .models import PreferredLanguage

# The person's stored language, asked whenever something is written to them and each time a
# method is added (sspr_site/compiled_query.py).
_STORED = OneRow(PreferredLanguage.objects.all, "user")
# A person's first language, unless one is stored (sspr_site/rows.py).
_FIRST = Insert(PreferredLanguage, unless_there=True)


def supported(code: str | None) -> str | None:
    """`code` as one of settings.LANGUAGES (a variant such as "de-at" becomes "de"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def _stored(user_id: int) -> PreferredLanguage | None:
    """The person's stored language, read once per request (sspr_site/request_memo.py): a
    method added asks it for its notice and to remember the page's language."""
    return once_per_request(_memo_key(user_id), lambda: _STORED.get(user_id))


def _memo_key(user_id) -> str:
    return f"sspr_language:{user_id}"


@receiver([post_save, post_delete], sender=PreferredLanguage, dispatch_uid="sspr_language_saved")
def _changed(sender, instance, **kwargs):
    """The rest of the request reads the language as stored now."""
    forget(_memo_key(instance.user_id))


def stored_language(user) -> str | None:
    if user is None or not getattr(user, "pk", None):
        return None
    stored = _stored(user.pk)
    return supported(stored.language if stored else None)


def stored_languages(user_ids, *, chosen_only: bool = False) -> dict[int, str]:
    """{user id: language} for those who have one (with `chosen_only`, one chosen with the
    picker); one query."""
    rows = PreferredLanguage.objects.filter(user_id__in=list(user_ids))
    if chosen_only:
        rows = rows.filter(chosen=True)
    return {
        user_id: code
        for user_id, lang in rows.values_list("user_id", "language")
        if (code := supported(lang))
    }


def language_for(user, default: str | None = None) -> str:
    """The language to write to `user` in: theirs, else `default`, else the current one."""
    return (
        stored_language(user)
        or supported(default)
        or supported(translation.get_language())
        or settings.LANGUAGE_CODE
    )


def in_language_of(user, default: str | None = None):
    """`with in_language_of(user):` renders what is sent to `user` in their language."""
    return translation.override(language_for(user, default))


def remember(user, code: str | None, *, replace: bool = True) -> None:
    """Store `code` as the person's language; with replace=False only when none is stored."""
    code = supported(code)
    if code is None or user is None or not getattr(user, "pk", None):
        return
    if replace:
        PreferredLanguage.objects.update_or_create(
            user_id=user.pk, defaults={"language": code, "chosen": True}
        )
    elif not known(_memo_key(user.pk)) or _stored(user.pk) is None:
        # One statement that stores nothing if one is stored (another request's, or one from
        # before: it is not read first unless this request read it already).
        _FIRST.create(user_id=user.pk, language=code)
        forget(_memo_key(user.pk))  # stored, or stored before: read it again if asked


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The footer's picker: Django's own view (the cookie, the safe `next`), and, for a signed-in
    person, the choice stored with them."""
    response = django_set_language(request)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        remember(user, request.POST.get("language"))
    return response


@receiver(user_logged_in, dispatch_uid="sspr_language_at_sign_in")
def language_at_sign_in(sender, request, user, **kwargs):
    """A language chosen with the picker before signing in (its cookie) is the person's choice,
    as one chosen after; otherwise the browser's language the first time only, so that a
    browser set to another language does not overwrite a choice."""
    if request is None:
        return
    picked = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if picked:
        remember(user, picked)
    else:
        remember(user, getattr(request, "LANGUAGE_CODE", None), replace=False)


@receiver(method_added, dispatch_uid="sspr_language_at_registration")
def language_at_registration(sender, request, policy, **kwargs):
    """Setting up a method is registering: the language it was done in is the person's."""
    if request is not None and request.user.is_authenticated:
        remember(request.user, getattr(request, "LANGUAGE_CODE", None), replace=False)
