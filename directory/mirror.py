"""Copying a directory entry onto its Django user: the same rules at sign-in and in the sync.

The directory owns names, email, the office phone and whether the person is privileged; the
site owns recovery methods. Attribute names are compared without regard to case, as the
directory does.
"""

from __future__ import annotations

import logging

import phonenumbers

from methods.models import OfficePhone
from sspr_site.conf import app_settings as site_settings

from .conf import DirectoryConfig
from .models import DirectoryAccount

logger = logging.getLogger("sspr.directory")


def first(attrs: dict, name: str) -> str:
    values = attrs.get(name.lower()) or []
    value = values[0] if values else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.strip()


def office_number(value: str) -> str:
    """The office phone in E.164, or "" when the directory's text is not a phone number (or
    names an extension)."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, site_settings.DEFAULT_PHONE_REGION or None)
    except phonenumbers.NumberParseException:
        return ""
    if parsed.extension:
        # As everywhere on the site: a code is never left with whoever answers a switchboard.
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def wanted_fields(attrs: dict, conf: DirectoryConfig) -> dict:
    """The user fields the directory owns, as it says they should be."""
    wanted = {
        "first_name": first(attrs, conf.attr_first_name)[:150],
        "last_name": first(attrs, conf.attr_last_name)[:150],
        "email": first(attrs, conf.attr_email)[:254],
    }
    if conf.is_ad and first(attrs, "adminCount") == "1":
        wanted["is_staff"] = True  # a protected account in the domain is privileged here too
    return wanted


def apply_fields(user, attrs: dict, conf: DirectoryConfig) -> None:
    """Set the directory-owned fields on `user`."""
    for field, value in wanted_fields(attrs, conf).items():
        setattr(user, field, value)


def after_save(user, dn: str, attrs: dict, conf: DirectoryConfig) -> None:
    """The office phone and the link to the entry, once the user has a key."""
    sync_office_phone(user.pk, office_number(first(attrs, conf.attr_office_phone)))
    link, created = DirectoryAccount.objects.get_or_create(user_id=user.pk, defaults={"dn": dn})
    if not created and (link.dn != dn or link.left_at or link.data_removed_at):
        link.dn, link.left_at, link.data_removed_at = dn, None, None
        link.save(update_fields=["dn", "left_at", "data_removed_at"])


def sync_office_phone(user_id: int, number: str, current: str | None = None) -> bool:
    """Make the office phone what the directory says (none if it says none)."""
    if current is None:
        current = str(
            OfficePhone.objects.filter(user_id=user_id).values_list("number", flat=True).first()
            or ""
        )
    if current == number:
        return False
    if number:
        OfficePhone.objects.update_or_create(user_id=user_id, defaults={"number": number})
    else:
        OfficePhone.objects.filter(user_id=user_id).delete()
    logger.info(
        "office phone %s from the directory user=%s", "set" if number else "removed", user_id
    )
    return True
