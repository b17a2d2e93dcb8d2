"""Parts of the page layout (templates/base.html) that read the same for everyone reading a
language: rendered once per language and kept by the process (docs/performance.md, the phone
setup's "A sixth round"); the header and footer once per language and shape, with each page's
own values put in (sspr_site/shapes.py)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from sspr_site.shapes import Shape

register = template.Library()

HEADER = Shape(
    "includes/site_header.html",
    values=("username", "csrf_token"),
    shape=("username", "csrf_token"),
)
FOOTER = Shape(
    "includes/site_footer.html",
    values=("csrf_token", "next", "helpdesk_contact", "helpdesk_link"),
    shape=("csrf_token", "helpdesk_contact", "helpdesk_link"),
)


def _token(context) -> str:
    """The page's CSRF token, or "" where it has none (as Django's csrf_token tag)."""
    token = context.get("csrf_token")
    return "" if token is None or str(token) == "NOTPROVIDED" else str(token)


@register.simple_tag(takes_context=True)
def site_header(context) -> SafeString:
    """The site's name, and who is signed in with the button to sign out."""
    user = context.get("user")
    signed_in = user is not None and user.is_authenticated
    return HEADER.render(
        {"username": user.get_username() if signed_in else "", "csrf_token": _token(context)}
    )


@register.simple_tag(takes_context=True)
def site_footer(context) -> SafeString:
    """The language picker (back to the page's own address, also when it came as the answer to
    a form) and the helpdesk's contact."""
    request = context.get("request")
    policy = context.get("policy")
    contact = policy.helpdesk_contact if policy is not None else ""
    return FOOTER.render(
        {
            "csrf_token": _token(context),
            "next": context.get("page_address") or (request.get_full_path() if request else ""),
            "helpdesk_contact": contact,
            # Worked out (two validators) only where there is a contact to link.
            "helpdesk_link": policy.helpdesk_link if contact else "",
        }
    )


# (page language, the site's languages) -> the picker's options; a handful of entries.
_options: dict[tuple, SafeString] = {}


@register.simple_tag
def language_options() -> SafeString:
    """The language picker's options, each named in its own language and marked with it, the
    page's language selected."""
    current = translation.get_language()
    key = (current, tuple(settings.LANGUAGES))
    kept = _options.get(key)
    if kept is None:
        if len(_options) > 64:  # languages the site no longer has (settings changed)
            _options.clear()
        kept = format_html_join(
            "",
            '<option value="{}" lang="{}"{}>{}</option>',
            (
                (
                    info["code"],
                    info["code"],
                    " selected" if info["code"] == current else "",
                    info["name_local"],
                )
                for info in (translation.get_language_info(code) for code, _ in settings.LANGUAGES)
            ),
        )
        _options[key] = kept
    return kept
