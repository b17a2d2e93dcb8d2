"""Mirror everyone in the directory's scope into Django, page by page.

A paged search (the simple paged results control) reads the people under LDAP_USER_BASE a
page at a time; each page is compared with the mirrored users in a few queries and only what
differs is written. People no longer found are deactivated; their recovery data is kept for
LDAP_LEFT_RETENTION_DAYS, then removed and audited. Memory holds one page, not the directory
(except, on OpenLDAP with a scope group, the group's member names). A second run with nothing
changed in the directory writes nothing but the run's mark on each link.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ldap
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from ldap.controls import SimplePagedResultsControl
from ldap.filter import escape_filter_chars

from audit.log import record
from audit.models import EventKind
from methods import lifecycle
from methods.models import OfficePhone

from . import mirror
from .accounts import accounts, config
from .conf import DirectoryConfig
from .ldap_accounts import ADMINISTRATOR_LOCK
from .models import DirectoryAccount, PasswordScan

logger = logging.getLogger("sspr.directory")


class EmptyDirectory(Exception):
    pass


class ManyNamesReused(Exception):
    """More names than REUSED_AT_ONCE turned up on other entries than the ones linked, in one
    run: more likely a directory rebuilt with new entry ids than that many leavers' names given
    to newcomers at once. Nothing of that page was written, nobody's data removed."""


# Names found on a new entry in one run before the sync stops and asks (ManyNamesReused).
REUSED_AT_ONCE = 20


@dataclass
class SyncReport:
    seen: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    left: int = 0
    removed: int = 0
    pages: int = 0
    # Names found on another entry than the one linked (their previous holder's data removed).
    reused: int = 0
    # People renamed in the directory whose row took the new name (mirror.follow_renames).
    renamed: int = 0
    # A dry run's renames, by row: a later page plans some again.
    planned: set = field(default_factory=set)
    # Entries whose name is held by the row of someone still in the directory who cannot
    # take their own new name yet: not mirrored this run (mirror.follow_renames).
    waiting: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.left + self.removed


def _pages(conn, conf: DirectoryConfig, filterstr: str, attrs: list[str]):
    """Yield lists of (dn, attrs) a page at a time."""
    control = SimplePagedResultsControl(True, size=conf.page_size, cookie="")
    while True:
        msgid = conn.search_ext(
            conf.user_base, ldap.SCOPE_SUBTREE, filterstr, attrlist=attrs, serverctrls=[control]
        )
        _type, data, _msgid, controls = conn.result3(msgid, timeout=max(conf.timeout, 30))
        yield [(dn, entry) for dn, entry in data if dn]
        cookies = [
            c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType
        ]
        if not cookies or not cookies[0]:
            return
        control.cookie = cookies[0]


def _person_filter(conf: DirectoryConfig) -> str:
    """Everyone the user filter can match (its name placeholder as a wildcard)."""
    wildcard = conf.user_filter.replace("%(user)s", "*")
    if conf.is_ad and conf.scope_group:
        chain = escape_filter_chars(conf.scope_group)
        return f"(&{wildcard}(memberOf:1.2.840.113556.1.4.1941:={chain}))"
    return wildcard


def _group_members(conn, group: str) -> set[str]:
    found = conn.search_ext_s(group, ldap.SCOPE_BASE, "(objectClass=*)", attrlist=["member"])
    if not found or not found[0][0]:
        return set()
    return {value.decode().lower() for value in found[0][1].get("member", [])}


def _staff(conn, conf: DirectoryConfig) -> set[str] | None:
    """The entries sign-in makes staff (backend.ldap_settings: the staff group's members and
    the superuser group's), by DN; in Active Directory through nested groups too, as
    sign-in's group type counts them. None when neither group is named."""
    groups = [group for group in (conf.staff_group, conf.superuser_group) if group]
    if not groups:
        return None
    found: set[str] = set()
    for group in groups:
        if conf.is_ad:
            chain = f"(memberOf:1.2.840.113556.1.4.1941:={escape_filter_chars(group)})"
            for page in _pages(conn, conf, chain, ["1.1"]):  # the DNs alone
                found.update(dn.lower() for dn, _attrs in page)
        else:
            found |= _group_members(conn, group)
    return found


def sync_directory(
    *,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[SyncReport], None] | None = None,
    accept_new_entries: bool = False,
) -> SyncReport:
    """Mirror the directory (the module docstring). `accept_new_entries`: go on past
    REUSED_AT_ONCE names found on new entries (a directory rebuilt with new ids, checked)."""
    conf = config()
    store = accounts()
    if not conf.enabled:
        raise ValueError("SSPR_DIRECTORY is none: there is no directory to synchronise.")
    now = now or timezone.now()
    # One run at a time, across workers and machines (the cache is shared in production).
    if not cache.add(LOCK_KEY, True, timeout=LOCK_SECONDS):
        raise SyncRunning("Another directory sync is running; nothing was changed.")
    try:
        return _sync(conf, store, now, dry_run, progress, accept_new_entries)
    finally:
        cache.delete(LOCK_KEY)


LOCK_KEY = "sspr:directory:sync-running"
LOCK_SECONDS = 6 * 3600


class SyncRunning(Exception):
    pass


def _sync(conf, store, now, dry_run, progress, accept_new_entries=False) -> SyncReport:
    run = time.time_ns()
    report = SyncReport()
    User = get_user_model()
    with store.service() as conn:
        scope = (
            _group_members(conn, conf.scope_group) if conf.scope_group and not conf.is_ad else None
        )
        staff = _staff(conn, conf)
        attrs = conf.attribute_names()
        for page in _pages(conn, conf, _person_filter(conf), attrs):
            report.pages += 1
            _sync_page(
                page, conf, scope, staff, run, report, dry_run, User, conn, accept_new_entries
            )
            if progress:
                progress(report)
    if not dry_run:
        if report.seen == 0 and DirectoryAccount.objects.filter(left_at__isnull=True).exists():
            # A wrong base or filter must not look like everyone leaving.
            raise EmptyDirectory("The directory returned nobody in scope; nobody was deactivated.")
        _leavers(run, now, conf, report)
        # The helpdesk's password list keeps its last read no longer than a day: names and
        # masked addresses of people who may have left since (directory/password_life.py).
        PasswordScan.objects.filter(read_at__lt=now - datetime.timedelta(days=1)).delete()
        record(
            EventKind.DIRECTORY_SYNCED,
            seen=report.seen,
            created=report.created,
            updated=report.updated,
            left=report.left,
            removed=report.removed,
        )
    return report


def _username(attrs: dict, conf: DirectoryConfig) -> str:
    # As a sign-in mirrors the name (backend.ldap_to_django_username): one user per account.
    return accounts().canonical_username(mirror.first(attrs, conf.attr_username))[:150]


def _disabled(attrs: dict, conf: DirectoryConfig) -> bool:
    """Turned off in the directory: the domain's flag, or OpenLDAP's administrator lock."""
    if conf.is_ad:
        return bool(int(mirror.first(attrs, "userAccountControl") or 0) & 2)
    return mirror.first(attrs, "pwdAccountLockedTime") == ADMINISTRATOR_LOCK


def _entries_named(conn, conf: DirectoryConfig, username: str) -> int:
    """How many entries under the people's base the sign-in's filter finds under `username`
    (at most 2: past that the directory refuses the search, which means more than one)."""
    try:
        found = conn.search_ext_s(
            conf.user_base,
            ldap.SCOPE_SUBTREE,
            conf.user_filter % {"user": escape_filter_chars(username)},
            attrlist=["1.1"],
            sizelimit=2,
        )
    except ldap.SIZELIMIT_EXCEEDED:
        return 2
    return len([dn for dn, _attrs in found if dn])


def _sync_page(
    page, conf, scope, staff, run, report, dry_run, User, conn=None, accept_new_entries=False
) -> None:
    """Compare one page with the mirror in one query; write only what differs (new people in
    bulk inserts). The mirror is read as plain values, not a model object per person. Past
    REUSED_AT_ONCE names found on new entries in the run, ManyNamesReused before anything of
    the page is written (unless `accept_new_entries`)."""
    found: dict[str, list] = {}
    for dn, raw in page:
        attrs = {name.lower(): values for name, values in raw.items()}
        username = _username(attrs, conf)
        if not username or (scope is not None and dn.lower() not in scope):
            report.skipped += 1
            continue
        found.setdefault(username, []).append((dn, attrs))
    if not dry_run:
        entries = [attrs for listed in found.values() for _dn, attrs in listed]
        mirror.adopt_old_spelling([mirror.first(attrs, conf.attr_username) for attrs in entries])
    people = {name: entries[0] for name, entries in found.items() if len(entries) == 1}
    if twice := [name for name, entries in found.items() if len(entries) > 1]:
        # A name on more than one entry: the one the person is linked to stays theirs; the
        # others are not mirrored and take nothing from them (sign-in refuses the name).
        logger.warning("directory names on more than one entry; skipped: %d", len(twice))
        linked = dict(
            DirectoryAccount.objects.filter(user__username__in=twice).values_list(
                "user__username", "entry_id"
            )
        )
        for name in twice:
            theirs = [
                entry
                for entry in found[name]
                if linked.get(name) and mirror.entry_id(entry[1], conf) == linked[name]
            ]
            report.skipped += len(found[name]) - len(theirs[:1])
            if theirs:
                people[name] = theirs[0]
    report.seen += len(people)
    if not people:
        return
    # Before the names are matched with rows: a renamed person's row takes the new name, and
    # a name they left is then someone new's, with nothing of theirs. A dry run counts them,
    # and matches the rows as they would be named.
    named = None if conn is None else functools.partial(accounts().entry_name, conn)
    renames = mirror.follow_renames(people, conf, named=named, apply=not dry_run)
    moves = renames.moves
    if dry_run:  # planned again on a later page: counted once
        renames = renames._replace(moves=[move for move in moves if move[0] not in report.planned])
        report.planned.update(pk for pk, _old, _new in moves)
    report.renamed += renames.renamed
    for name in renames.held:
        # The name's row is someone's still in the directory who cannot take their new name
        # yet: the entry under it waits, and takes nothing from them.
        people.pop(name, None)
        report.waiting += 1
        report.seen -= 1
    if renames.placed and not dry_run:
        # Found in scope by their lasting id, renamed or waiting: not leavers.
        DirectoryAccount.objects.filter(user_id__in=renames.placed).update(seen_run=run)
    names = [*people, *(old for _pk, old, _new in moves)] if dry_run else list(people)
    fields = ["first_name", "last_name", "email", "is_staff", "is_active"]
    existing = {
        row["username"]: row
        for row in User.objects.filter(username__in=names).values(
            "pk",
            "username",
            "is_superuser",
            "directory_account__dn",
            "directory_account__entry_id",
            "directory_account__left_at",
            "office_phone__number",
            *fields,
        )
    }
    if dry_run:  # every row taken from its old name first: a swap frees each other's
        moved = [(existing.pop(old, None), new) for _pk, old, new in moves]
        existing |= {new: row for row, new in moved if row is not None and new in people}
    new_users, changes, offices, links, reused = [], [], [], [], []
    for username, (dn, attrs) in people.items():
        found_id = mirror.entry_id(attrs, conf)
        wanted = mirror.wanted_fields(attrs, conf)
        privileged = _privileged(dn, attrs, conf, staff)
        if privileged is not None:
            wanted["is_staff"] = privileged
        # A disabled account is mirrored inactive: nobody can reset it here.
        wanted["is_active"] = not _disabled(attrs, conf)
        office = mirror.office_number(mirror.first(attrs, conf.attr_office_phone))
        row = existing.get(username)
        if row is None:
            report.created += 1
            new_users.append(User(username=username, password=make_password(None), **wanted))
            offices.append((username, office, ""))
            links.append((username, dn, found_id))
            continue
        current_office = str(row["office_phone__number"] or "")
        stored_id = row["directory_account__entry_id"] or ""
        given_again = mirror.another_holder(
            stored_id,
            row["directory_account__dn"],
            row["directory_account__left_at"],
            found_id,
            dn,
        )
        if row["is_superuser"] and not given_again:
            wanted.pop("is_staff", None)  # an administrator made here stays one
        # A name given again: the row is the newcomer's, every field as their entry says (the
        # previous holder's roles go with them: mirror.forget_previous_holder).
        update = {
            field: value for field, value in wanted.items() if given_again or row[field] != value
        }
        if given_again:
            if (
                not row["directory_account__left_at"]
                and conn is not None
                and _entries_named(conn, conf, username) > 1
            ):
                # The linked entry still has the name (on another page of this run): a second
                # entry with it takes nothing from the person, and is not mirrored.
                logger.warning("directory name on more than one entry; skipped")
                report.skipped += 1
                report.seen -= 1
                continue
            reused.append(row["pk"])
        link_changed = (
            row["directory_account__dn"] != dn
            or row["directory_account__left_at"]
            or (found_id and stored_id != found_id)
        )
        if update or office != current_office or link_changed:
            report.updated += 1
            changes.append((row["pk"], update))
            offices.append((username, office, current_office))
            links.append((username, dn, found_id or stored_id))
    report.reused += len(reused)
    if dry_run:
        return
    if reused and report.reused > REUSED_AT_ONCE and not accept_new_entries:
        raise ManyNamesReused(report.reused)
    with transaction.atomic():
        # New people in three bulk inserts; changed ones one by one (few, after the first run).
        User.objects.bulk_create(new_users)
        ids = dict(
            User.objects.filter(username__in=[u for u, _dn, _id in links]).values_list(
                "username", "pk"
            )
        )
        # A name given to someone new: the previous holder's data goes before the row is theirs.
        for user in User.objects.filter(pk__in=reused):
            mirror.forget_previous_holder(user)
        new_names = {user.username for user in new_users}
        OfficePhone.objects.bulk_create(
            OfficePhone(user_id=ids[name], number=office)
            for name, office, _ in offices
            if name in new_names and office
        )
        DirectoryAccount.objects.bulk_create(
            DirectoryAccount(user_id=ids[name], dn=dn, entry_id=found, seen_run=run)
            for name, dn, found in links
            if name in new_names
        )
        for pk, update in changes:
            if update:
                User.objects.filter(pk=pk).update(**update)
        for name, office, current in offices:
            if name not in new_names:
                # Read again where the previous holder's records were just removed.
                known = None if ids[name] in reused else current
                mirror.sync_office_phone(ids[name], office, known)
        for name, dn, found in links:
            if name not in new_names:
                DirectoryAccount.objects.update_or_create(
                    user_id=ids[name],
                    defaults={
                        "dn": dn,
                        "entry_id": found,
                        "left_at": None,
                        "data_removed_at": None,
                        "seen_run": run,
                    },
                )
        # By user id: a join on the names here made PostgreSQL compare every name of the page
        # with every row before the tables' statistics caught up.
        page_ids = [row["pk"] for row in existing.values()] + [
            ids[user.username] for user in new_users
        ]
        DirectoryAccount.objects.filter(user_id__in=page_ids).update(seen_run=run)
    # Made staff by the directory (a previous holder's flags went with their data): held to
    # the administrators' rule from now on, their registration ends if it falls short of it.
    if promoted := [pk for pk, update in changes if update.get("is_staff") and pk not in reused]:
        mirror.made_staff.send(sender=SyncReport, user_ids=promoted)


def _privileged(dn: str, attrs: dict, conf: DirectoryConfig, staff: set[str] | None):
    """Whether the person is staff (None: no group says, and the mirror keeps what it has).
    In Active Directory a protected account (adminCount) counts too."""
    in_staff = staff is not None and dn.lower() in staff
    if conf.is_ad:
        return in_staff or mirror.first(attrs, "adminCount") == "1"
    return None if staff is None else in_staff


def _leavers(run: int, now, conf: DirectoryConfig, report: SyncReport) -> None:
    """Deactivate people not seen in this run; remove recovery data after the retention."""
    gone = DirectoryAccount.objects.filter(left_at__isnull=True).exclude(seen_run=run)
    for link in gone.select_related("user").iterator(chunk_size=500):
        with transaction.atomic():
            link.left_at = now
            link.save(update_fields=["left_at"])
            get_user_model().objects.filter(pk=link.user_id).update(is_active=False)
            record(EventKind.DIRECTORY_LEFT, subject=link.user)
        report.left += 1
    cutoff = now - datetime.timedelta(days=conf.retention_days)
    expired = DirectoryAccount.objects.filter(left_at__lte=cutoff, data_removed_at__isnull=True)
    for link in expired.select_related("user").iterator(chunk_size=500):
        with transaction.atomic():
            # Every method's records, whatever methods the registry holds (methods.lifecycle),
            # then the registration itself.
            lifecycle.purge(link.user)
            mirror.remove_registration(link.user, "data_removed")
            link.data_removed_at = now
            link.save(update_fields=["data_removed_at"])
            record(EventKind.DIRECTORY_DATA_REMOVED, subject=link.user)
        report.removed += 1
