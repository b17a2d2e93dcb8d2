"""Copying a directory entry onto its Django user: the same rules at sign-in and in the sync.

The directory owns names, email, the office phone and whether the person is privileged; the
site owns recovery methods. Attribute names are compared without regard to case, as the
directory does.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from typing import NamedTuple

import phonenumbers
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, transaction
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


class Renames(NamedTuple):
    """What follow_renames did (or, in a dry run, would do): the rows renamed, as (row, old
    name, new name); the names of the page that wait: a row of someone still in the directory
    holds the name and cannot move yet, so the entry now under it is not mirrored this time
    (the row keeps everything of its holder); and the rows whose entries the directory placed
    in scope (`placed`: seen by this run, whether they moved or wait)."""

    moves: list[tuple[int, str, str]]
    held: set[str]
    aside: frozenset[int] = frozenset()  # of the moves, the rows set aside
    placed: frozenset[int] = frozenset()

    @property
    def renamed(self) -> int:
        """The people renamed (a row set aside is not one)."""
        return sum(1 for pk, _old, _new in self.moves if pk not in self.aside)


def _set_aside_name(name: str, pk: int) -> str:
    suffix = f".left-{pk}"
    return f"{name[: 150 - len(suffix)]}{suffix}"


def follow_renames(
    people: dict, conf: DirectoryConfig, *, named=None, apply: bool = True
) -> Renames:
    """People renamed in the directory (a new surname, say) keep their row, and with it their
    methods, registration and history (docs/security.md §39). `people`: name -> (dn, attrs)
    of the entries about to be mirrored (a sync's page, a sign-in's entry); `named`: a
    lasting id -> the name of the one entry in scope with it, or None (the directory asked).

    - An entry under a name whose row is not linked to it, while another row is: that row
      takes the name, once the directory confirms the entry with that id is the one under
      it (an entry given a copy of another's id takes nothing).
    - The row holding the name, linked to an entry the directory now has under another name,
      takes that name (a swap, a chain of renames: all at once). A leaver's row holding it,
      or a second row linked to the same entry as the row under the new name, is set aside
      under a name of its own, its data kept.
    - A row whose linked entry the directory cannot place (gone, out of scope) but that has
      not left yet holds its name: the name waits (`held`) until the sync has seen it leave,
      and so does every name of a row that cannot move.

    Without `named` nothing moves. With `apply` false (a dry run), nothing is written."""
    if named is None or not people:
        return Renames([], set())
    User = get_user_model()
    found = {name: entry_id(attrs, conf) for name, (_dn, attrs) in people.items()}
    columns = ("pk", "username", "directory_account__entry_id", "directory_account__left_at")
    rows = {
        row[0]: row for row in User.objects.filter(username__in=list(people)).values_list(*columns)
    }
    linked_to = {linked: username for _pk, username, linked, _left in rows.values() if linked}
    # The entries whose name's row is not theirs: most pages and sign-ins have none, and ask
    # no more. (Two queries, each on its index: one joined OR read both tables whole.)
    unsettled = [i for name, i in found.items() if i and linked_to.get(i) != name]
    if not unsettled:
        return Renames([], set())
    rows |= {
        row[0]: row
        for row in User.objects.filter(directory_account__entry_id__in=unsettled).values_list(
            *columns
        )
    }
    owners: dict[str, list[int]] = {}
    for pk, _username, linked, _left in rows.values():
        if linked:
            owners.setdefault(linked, []).append(pk)
    asked: dict[str, str | None] = {}

    def where(linked: str) -> str | None:
        if linked not in asked:
            asked[linked] = named(linked)
        return asked[linked]

    wanted: dict[int, str] = {}  # row -> the name it should take
    for_names: dict[int, set[str]] = {}  # row -> the page's names its move is for
    aside: set[int] = set()
    held: set[str] = set()
    placed: set[int] = set()

    def want(pk: int, target: str, name: str) -> None:
        wanted[pk] = target
        for_names.setdefault(pk, set()).add(name)

    holder = {username: pk for pk, username, _linked, _left in rows.values()}
    for name, found_id in found.items():
        current = holder.get(name)
        if not found_id or (current is not None and rows[current][2] == found_id):
            continue
        theirs = owners.get(found_id, [])
        # The row linked to this entry, where the directory gives its id this name alone (an
        # entry given a copy of another's id takes nothing).
        owner = theirs[0] if len(theirs) == 1 and where(found_id) == name else None
        if owner is not None:
            placed.add(owner)
        if current is not None:
            linked, left = rows[current][2], rows[current][3]
            elsewhere = where(linked) if linked else None
            if elsewhere and elsewhere != name:
                placed.add(current)
                want(current, elsewhere, name)
            elif owner is not None and left:
                want(current, _set_aside_name(name, current), name)
                aside.add(current)
            elif owner is not None:
                held.add(name)
                continue
            # Else the name was given to someone new (another_holder), as without a rename.
        if owner is not None:
            want(owner, name, name)
    # The rows under the names wanted, beyond this page's.
    missing = [target for target in wanted.values() if target not in holder]
    for pk, username, linked, left in User.objects.filter(username__in=missing).values_list(
        *columns
    ):
        rows[pk] = (pk, username, linked, left)
        holder[username] = pk
    for pk, target in list(wanted.items()):
        other = holder.get(target)
        stays = other is not None and other != pk and other not in wanted and pk not in aside
        if stays and rows[other][2] and rows[other][2] == rows[pk][2]:
            # A second row of the same entry (left by an earlier release): set aside, its data
            # kept, rather than holding the name forever.
            wanted[pk] = _set_aside_name(rows[pk][1], pk)
            aside.add(pk)
    # A row whose new name is held by a row that stays put waits, and so do the names of the
    # page it moves for; until nothing changes (a swap, where each frees the other's, moves).
    while True:
        stuck = [
            pk
            for pk, target in wanted.items()
            if (other := holder.get(target)) is not None and other != pk and other not in wanted
        ]
        if not stuck:
            break
        for pk in stuck:
            held.update(for_names.get(pk, ()))
            wanted.pop(pk)
            logger.warning("directory rename waits: a row holds the new name user=%s", pk)
    moves = sorted(
        (pk, rows[pk][1], target) for pk, target in wanted.items() if rows[pk][1] != target
    )
    if not moves or not apply:
        return Renames(moves, held, frozenset(aside), frozenset(placed))
    try:
        _rename_all(moves, aside)
    except DatabaseError:
        # Another request renamed one of them, or took a name, meanwhile (a unique name
        # refused, or two renames of the same rows at once): the next try decides.
        logger.warning("directory renames wait: a name changed meanwhile")
        waiting = {name for pk, _old, _new in moves for name in for_names.get(pk, ())}
        return Renames([], held | waiting, frozenset(), frozenset(placed))
    return Renames(moves, held, frozenset(aside), frozenset(placed))


def _rename_all(moves: list[tuple[int, str, str]], aside: set[int]) -> None:
    """The rows take their new names together, each first under a name of its own, so that a
    swap or a chain never meets a name still in use. Each renamed person's event is recorded;
    a leaver's row set aside is logged only."""
    User = get_user_model()
    with transaction.atomic():
        for pk, old, _new in moves:
            step = f"sspr-renaming-{pk}-{secrets.token_hex(8)}"
            if not User.objects.filter(pk=pk, username=old).update(username=step):
                raise IntegrityError("a row was renamed meanwhile")
        for pk, _old, new in moves:
            User.objects.filter(pk=pk).update(username=new)
            if pk not in aside:
                record(EventKind.DIRECTORY_RENAMED, subject=User(pk=pk))
    from .lockout import clear_failures, username_key

    for pk, old, _new in moves:
        logger.info(
            "directory %s user=%s", "leaver set aside" if pk in aside else "rename followed", pk
        )
        # The failed sign-ins under the name left were tried against its holder: whoever is
        # given it next starts afresh, as after a name given again (forget_previous_holder).
        clear_failures(username_key(old))


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
