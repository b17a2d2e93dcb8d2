"""Copying a directory entry onto its Django user: the same rules at sign-in and in the sync.

The directory owns names, email, the office phone and whether the person is privileged; the
site owns recovery methods. Attribute names are compared without regard to case, as the
directory does.
"""

from __future__ import annotations

import logging
import unicodedata

import phonenumbers
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal

from audit.log import record
from audit.models import EventKind
from methods import lifecycle
from methods.models import OfficePhone
from registration.models import PreferredLanguage, Registration
from sspr_site.conf import app_settings as site_settings

from .accounts import accounts, config, end_sessions
from .conf import DirectoryConfig
from .models import DirectoryAccount

logger = logging.getLogger("sspr.directory")

# Sent after the sync made people staff, with their `user_ids`: an administrator's registration
# needs more (registration/signals.py ends those that fall short).
made_staff = Signal()


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


def entry_id(attrs: dict, conf: DirectoryConfig) -> str:
    """The entry's lasting id (conf.attr_entry_id) as text: entryUUID as the directory writes
    it, objectGUID's sixteen bytes in hex; "" when the directory gave none."""
    values = attrs.get(conf.attr_entry_id.lower()) or []
    if not values:
        return ""
    value = values[0]
    if conf.is_ad:
        # Binary; left as bytes when it is not UTF-8 (and, when it happens to be, the text
        # encodes back to the same bytes).
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        return raw.hex() if len(raw) == 16 else ""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip().lower()[:64]


def another_holder(
    stored_id: str, stored_dn: str | None, left_at, found_id: str, found_dn: str
) -> bool:
    """Whether the entry found under a mirrored person's name is another than the one they
    were linked to: the name was given again to someone new (docs/security.md §39). By the
    lasting ids where both are known; for a link kept before ids were, a leaver's name found
    at another place in the directory counts as another person."""
    if stored_id and found_id:
        return stored_id != found_id
    return bool(left_at) and (stored_dn or "").casefold() != found_dn.casefold()


# The linked entries follow_renames asks the directory for at most, in one call.
ASKED_AT_ONCE = 20


def follow_renames(
    people: dict, conf: DirectoryConfig, *, named=None, apply: bool = True
) -> list[tuple[int, str, str]]:
    """People renamed in the directory (a new surname, say) keep their row, and with it their
    methods, registration and history (docs/security.md §39): the entry they are linked to,
    found under a new name, gives their row that name. `people`: name -> (dn, attrs) of the
    entries about to be mirrored (a sync's page, a sign-in's entry).

    - An entry under a name no row has, linked to a row under another name: that row takes
      the name.
    - A name whose row is linked to another entry than the one now holding it: where `named`
      (a lasting id -> that entry's name in scope, or None) finds the linked entry under a name
      no row has, the row takes that name, and the entry now holding the old name is mirrored
      as someone new. Otherwise the name was given again (another_holder).

    A name a row has already is never taken from it: the rename waits (logged). The renames
    made, as (row, old name, new name); with `apply` false (a dry run), the renames that would
    be made, none made."""
    User = get_user_model()
    found = {name: entry_id(attrs, conf) for name, (_dn, attrs) in people.items()}
    rows = dict(
        User.objects.filter(username__in=list(people)).values_list(
            "username", "directory_account__entry_id"
        )
    )
    wanted = {found_id: name for name, found_id in found.items() if found_id and name not in rows}
    moves = [
        (user_id, old, wanted[linked])
        for user_id, old, linked in DirectoryAccount.objects.filter(
            entry_id__in=list(wanted)
        ).values_list("user_id", "user__username", "entry_id")
        if old != wanted[linked]
    ]
    elsewhere = [
        (name, linked)
        for name, linked in rows.items()
        if linked and found[name] and linked != found[name] and linked not in wanted
    ]
    # More at once looks like a directory rebuilt with new ids (sync.ManyNamesReused), where
    # the old ids name nothing: not asked one by one.
    if named is not None and len(elsewhere) <= ASKED_AT_ONCE:
        for name, linked in elsewhere:
            new = named(linked)
            if new and new != name:
                moves.append((User.objects.get(username=name).pk, name, new))
    return [move for move in moves if _rename(*move, apply=apply)]


def _rename(user_id: int, old: str, new: str, *, apply: bool = True) -> bool:
    """The row `user_id` named `old` takes the name `new`, unless a row has it already."""
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username=new).exists():
            logger.warning("directory rename waits: a row has the new name user=%s", user_id)
            return False
        if not apply:
            return True
        if not User.objects.filter(pk=user_id, username=old).update(username=new):
            return False
        record(EventKind.DIRECTORY_RENAMED, subject=User(pk=user_id))
    logger.info("directory rename followed user=%s", user_id)
    return True


def adopt_old_spelling(names: list[str]) -> int:
    """People mirrored under a name lowered as a whole word, as releases before lowered them
    ("İlker" as "i̇lker", "ΝΙΚΟΣ" as "νικος"), take the name lowered letter by letter that
    sign-in and the sync look for now (docs/security.md §39): their row, methods and history
    stay theirs. `names`: the entries' own names, as the directory writes them. Where both
    spellings have a row, nothing is renamed. How many rows were renamed."""
    User = get_user_model()
    moves = {}
    for name in names:
        old = unicodedata.normalize("NFKC", name.strip()).lower()[:150]
        new = accounts().canonical_username(name)[:150]
        if old != new:
            moves[old] = new
    if not moves:
        return 0
    taken = set(
        User.objects.filter(username__in=list(moves.values())).values_list("username", flat=True)
    )
    renamed = 0
    for old, new in moves.items():
        if new not in taken:
            renamed += User.objects.filter(username=old, directory_account__isnull=False).update(
                username=new
            )
    if renamed:
        logger.info("people renamed to the directory's lowering of their names: %d", renamed)
    return renamed


def forget_previous_holder(user, *, flags_from_entry: bool = False) -> list[str]:
    """The name now belongs to a new entry: everything recorded of whoever held it before goes
    (their methods and registration), and their sessions end (a new unusable password, as a
    new password would). So do the roles given to them here: their groups (the helpdesk's,
    say), their own permissions, and administrator and staff status, which the newcomer has
    only as their own entry gives it (`flags_from_entry`: the flags were just set from the new
    entry's groups, as a sign-in sets them; else the sync sets them afterwards). Audited; no
    notice goes out, the previous holder having left. Returns the kinds of the methods that
    had any records."""
    from .lockout import clear_failures_of

    conf = config()
    # At sign-in the new entry's groups (and in Active Directory a protected account:
    # wanted_fields) have just set staff status; in the sync it is set after this.
    by_entry = flags_from_entry and bool(conf.staff_group or conf.superuser_group or conf.is_ad)
    roles = [
        *(["superuser"] if user.is_superuser else []),
        *(["staff"] if user.is_staff else []),
        *user.groups.values_list("name", flat=True),
        *(["permissions"] if user.user_permissions.exists() else []),
    ]
    user.is_staff = user.is_staff if by_entry else False
    user.is_superuser = user.is_superuser if flags_from_entry and conf.superuser_group else False
    with transaction.atomic():
        had = lifecycle.purge(user)
        remove_registration(user, "name_reused")
        # The language they chose here, and their failed sign-ins, were theirs too.
        PreferredLanguage.objects.filter(user_id=user.pk).delete()
        clear_failures_of(user)
        end_sessions(user)
        user.groups.clear()
        user.user_permissions.clear()
        type(user).objects.filter(pk=user.pk).update(
            is_staff=user.is_staff, is_superuser=user.is_superuser
        )
        record(EventKind.DIRECTORY_NAME_REUSED, subject=user, methods=had, roles=sorted(roles))
    logger.warning("directory name given to a new entry; previous data removed user=%s", user.pk)
    return had


def remove_registration(user, reason: str) -> None:
    """The person's registration, removed with the rest of their data. One that stood ends
    with the event a lapse writes (registration.flows.registration_lapse), so the report's
    trend, worked back from the events, counts it on the days it stood (helpdesk/report.py)."""
    if Registration.objects.filter(user_id=user.pk, completed_at__isnull=False).delete()[0]:
        record(EventKind.REGISTRATION_LAPSED, subject=user, methods_left=[], reason=reason)
    Registration.objects.filter(user_id=user.pk).delete()


def after_save(user, dn: str, attrs: dict, conf: DirectoryConfig) -> None:
    """The office phone and the link to the entry, once the user has a key. A name now given
    to another entry than the one linked first forgets its previous holder."""
    found_id = entry_id(attrs, conf)
    link, created = DirectoryAccount.objects.get_or_create(
        user_id=user.pk, defaults={"dn": dn, "entry_id": found_id}
    )
    if not created and another_holder(link.entry_id, link.dn, link.left_at, found_id, dn):
        forget_previous_holder(user, flags_from_entry=True)
    elif user.is_superuser and not user.is_staff:
        # An administrator made here stays one, as the sync keeps them: the sign-in's flags
        # (from the directory's groups only) had just taken staff status away.
        user.is_staff = True
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
    sync_office_phone(user.pk, office_number(first(attrs, conf.attr_office_phone)))
    if not created and (
        link.dn != dn
        or link.left_at
        or link.data_removed_at
        or (found_id and link.entry_id != found_id)
    ):
        link.dn, link.left_at, link.data_removed_at = dn, None, None
        link.entry_id = found_id or link.entry_id
        link.save(update_fields=["dn", "left_at", "data_removed_at", "entry_id"])


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
    elif OfficePhone.objects.filter(user_id=user_id).delete()[0]:
        lifecycle.gone(user_id, "office_phone")
    logger.info(
        "office phone %s from the directory user=%s", "set" if number else "removed", user_id
    )
    return True
