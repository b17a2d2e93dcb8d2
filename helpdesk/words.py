"""What the audit log and the reports store as short internal values, said in words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.models import EventKind
from delivery.models import Problem
from methods.models import Channel, Purpose
from methods.registry import REGISTRY

WORDS = {
    **{str(method.kind): method.label for method in REGISTRY.values()},
    **{purpose.value: purpose.label for purpose in Purpose},
    **{channel.value: channel.label for channel in Channel},
    **{problem.value: problem.label for problem in Problem},
    **{kind.value: kind.label for kind in EventKind},
    "wrong": _("Wrong code"),
    "expired": _("Ran out of time"),
    "no_code": _("No live code"),
    "no_longer_registered": _("Sent to a number or address no longer registered"),
    "throttled": _("Typed again too quickly"),
    "locked": _("Too many failures in a row"),
    "wrong_answers": _("Wrong answers"),
    "destination_mismatch": _("Number or address did not match"),
    "no_account": _("No account that can use the portal"),
    "cooldown": _("Asked again too soon"),
    "rate_limited": _("Sending limit reached"),
    "delivery_failed": _("Could not be delivered"),
    "not_allowed": _("Not allowed by the policy"),
    "account_blocked": _("Blocked for a day after too many attempts"),
    "address_limited": _("Too many attempts from one address"),
    "without_script_limited": _("Too many starts without JavaScript"),
    "proof_limited": _("Too many proof attempts in an hour"),
    "account_disabled": _("The account is turned off"),
    "methods_changed": _("A method it had verified was removed or changed meanwhile"),
    "account_changed": _("The account's password was set, or the account changed hands, meanwhile"),
    "account_privileged": _("The directory made the account an administrator's meanwhile"),
    # Why the account store refused a new password (directory.accounts.REFUSALS).
    "too_short": _("Shorter than the directory's rules allow"),
    "in_history": _("Used before"),
    "too_young": _("Changed too recently"),
    "quality": _("Failed the directory's quality check"),
    "complexity": _("Not complex enough for the directory"),
    "policy": _("Refused under the directory's password rules"),
    "administrator": _("By an administrator"),
    "proof": _("Proof before a change, not a reset"),
    "stale": _("Older than the policy allows"),
    "verified": _("Verified"),
    "not_verified": _("Not verified"),
    "notice": _("Notice"),
    "code": _("Code"),
    "reminder": _("Reminder"),
    "user": _("per person"),
    "destination": _("per number or address"),
    "ip": _("per address"),
    "prefix": _("per country"),
    "overall": _("overall"),
    "added": _("added"),
    "replaced": _("changed"),
    "removed": _("removed"),
    "reset_attempts": _("Too many reset attempts"),
    "wrong_current": _("Wrong current password at a password change"),
    # How a temporary access pass's caller was verified, and why a pass ended (accesspass).
    "caller_check": _("Caller check with a registered method"),
    "in_person": _("Identity checked in person"),
    "onboarding": _("New starter (issued by an administrator's command)"),
    "approval_lapsed": _("Not approved or shown in time"),
    "password_reset": _("Ended by the person's password reset"),
    "data_removed": _("Ended when the account's recovery data was removed"),
    "reported": _("Ended when the person reported a change as not theirs"),
    "pass_replaced": _("Replaced by a newer pass"),
    "locked_out": _("Refused unchecked: the name was locked"),
    # Why a registration lapsed, when not a method removed (registration.flows.lapse_short,
    # directory.mirror.remove_registration; "data_removed" above for a leaver's).
    "policy_changed": _("The policy now asks for more"),
    "name_reused": _("The name was given to someone new"),
    "question_retired": _("A security question they answered is no longer offered"),
    "made_staff": _("Made staff: an administrator's registration needs more"),
    # Roles a name's previous holder had here (directory.mirror.forget_previous_holder).
    "superuser": _("Administrator of this site"),
    "staff": _("Staff status"),
    "permissions": _("Permissions of their own"),
}

KEYS = {
    "method": _("Method"),
    "methods": _("Methods"),
    "methods_left": _("Methods left"),
    "registered_before": _("Registered before, until it lapsed"),
    "reason": _("Reason"),
    "purpose": _("Purpose"),
    "channel": _("Channel"),
    "outcome": _("Outcome"),
    "limit": _("Limit"),
    "attempt": _("Attempt"),
    "attempts": _("Tries"),
    "count": _("Count"),
    "usable": _("Account can use the portal"),
    "field": _("Setting"),
    "skips_used": _("Postponed"),
    "skips_allowed": _("Postponements allowed"),
    "action": _("Change"),
    "reverted": _("Undone"),
    "restored": _("Earlier one back"),
    "sessions_ended": _("Sessions ended"),
    "records": _("Records removed"),
    "names": _("Names (sealed)"),
    "pass_id": _("Temporary access pass"),
    "verification": _("How the person was verified"),
    "requested_by": _("Asked for by"),
    "approved_by": _("Approved by"),
    "lift": _("Awaiting approval"),
    "lifetime_minutes": _("Lifetime (minutes)"),
    "single_use": _("Single use"),
    "uses": _("Uses"),
    "ended": _("Ended"),
    "fields": _("Fields"),
    "store": _("Accounts kept in"),
    "via": _("Signed in with"),
    "operation": _("Directory operation"),
    "error": _("Directory's answer"),
    "changed": _("Settings changed"),
    "list": _("List"),
    "interval_days": _("Days between reminders"),
    "scanned": _("Accounts checked"),
    "expiring_soon": _("Passwords ending soon"),
    "messages": _("Messages"),
    "reminder": _("Reminder"),
    "seen": _("Accounts seen"),
    "created": _("Created"),
    "updated": _("Updated"),
    "left": _("Left the directory"),
    "removed": _("Data removed"),
    "taken_by_another_run": _("Sent by another run at the same moment"),
    "by": _("By"),
    "lockout_cleared": _("Lock here cleared"),
    "again": _("Proved again, nothing changed"),
    "interrupted": _("Stopped partway"),
    "roles": _("Roles removed"),
}

# Values that mean one thing under one key only (the account store's kinds, for instance).
KEY_WORDS = {
    "store": {
        "none": _("This site"),
        "openldap": _("The directory (OpenLDAP)"),
        "active_directory": _("The directory (Active Directory)"),
    },
    "via": {"access_pass": _("Temporary access pass")},
    "list": {"password_life": _("Directory passwords")},
}


def in_words(value) -> str:
    """A stored value in words; lists word by word; anything unknown as it is."""
    if isinstance(value, list | tuple):
        return ", ".join(in_words(item) for item in value) or "—"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(WORDS.get(value, value)) if isinstance(value, str) else str(value)


def details_in_words(details: dict) -> list[tuple[str, str]]:
    """Details in words, in one order whatever the database kept them in."""
    order = list(KEYS)
    keys = sorted(details, key=lambda key: (order.index(key) if key in order else len(order), key))
    return [
        (
            str(KEYS.get(key, key)),
            str(KEY_WORDS[key].get(value, value))
            if key in KEY_WORDS and isinstance(value := details[key], str)
            else in_words(details[key]),
        )
        for key in keys
    ]
