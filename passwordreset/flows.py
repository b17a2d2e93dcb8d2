"""The password reset portal's actions: start, prove identity with methods, reset or unlock.

No enumeration (docs/security.md §12-13): an unknown, out-of-scope, unregistered, locked or
registered account goes through the same steps, the same pages and the same work; only a
method that really matches can pass, and nothing tells which case applies.
"""

from __future__ import annotations

import datetime
import enum
import functools
import logging
import secrets
import time
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac

from audit.log import record
from audit.models import Event, EventKind
from delivery import outbox
from delivery import tracking as delivery_tracking
from delivery.outbox import Message
from directory.accounts import ChangeUnconfirmed, PasswordRefused, accounts, end_sessions
from directory.lockout import clear_failures_of
from methods import cooling, lifecycle, not_me, proof, reset_rule
from methods import flows as method_flows
from methods.conf import app_settings as code_settings
from methods.masking import mask_email
from methods.models import Channel, CheckOutcome, Purpose, VerificationCode
from methods.registry import REGISTRY, UserMethods, enabled_methods, method_for_kind, statuses
from methods.reset_rule import Proof, ResetRule, is_privileged
from policy.models import Policy
from registration.language import in_language_of, stored_languages
from sspr_site import counting
from sspr_site.compiled_query import OneRow
from sspr_site.conf import app_settings as site_settings
from sspr_site.network import client_address, limit_key

from . import signals
from . import state as reset_state
from .conf import app_settings
from .state import Action, ResetState

if TYPE_CHECKING:  # the code family's reset steps are given its methods
    from methods.code.method import CodeMethod

logger = logging.getLogger("sspr.passwordreset")

BLOCK_SECONDS = 24 * 3600
SENDS_PER_ATTEMPT = 6
TRIES_PER_METHOD = 5  # checks of a method's proof in one attempt, for every account alike


class StartRefusal(enum.Enum):
    ACCOUNT_BLOCKED = "account_blocked"
    ADDRESS_LIMITED = "address_limited"


def digest(value: str) -> str:
    """A keyed digest of a name: the same for the same name, telling nothing about it."""
    return salted_hmac("passwordreset", value, algorithm="sha256").hexdigest()[:40]


def _count(key: str, window: int, limit: int) -> int:
    """Count one event and return how many fell within the last `window` seconds (shared
    cache; sspr_site.counting.count_recent): ten attempts either side of an hour's edge are
    ten in an hour, not five in each. Past `limit` the answer is limit + 1, and the event is
    not kept."""
    return counting.count_recent(key, window, cap=limit)


def _count_for(key: str, window: int) -> int:
    """Count one event under `key`, kept `window` seconds from the first one: an attempt's
    counters hold for its whole life, never reset by a window's edge."""
    return counting.count(key, window + 60)


@functools.cache
def _by_name() -> OneRow:
    """The account a typed name is, by the user model's name field: the same query for every
    name (sspr_site/compiled_query.py)."""
    User = get_user_model()
    # With whether self-service is paused for it, in the same query.
    return OneRow(
        lambda: User._default_manager.annotate(**not_me.paused_annotation()), User.USERNAME_FIELD
    )


def _by_mail(name: str):
    """The one account whose mail is `name`, where the directory's sign-in takes a mail too
    (directory/conf.py `matches_mail`); None for no account or for two. Run for every name
    typed in that mode, found by name or not: the same queries for every name (docs/security.md
    §12). Read with an index on the lower-cased mail (directory migration 0004)."""
    User = get_user_model()
    found = list(
        User._default_manager.annotate(**not_me.paused_annotation())
        .alias(sspr_mail=Lower("email"))
        # Both sides lower-cased by the database, whose rules may differ from Python's; a
        # leaver's row, kept with its mail, names nobody.
        .filter(sspr_mail=Lower(Value(name)), is_active=True)[:2]
    )
    return found[0] if len(found) == 1 else None


def typed_as_mail(state: ResetState) -> bool:
    """Whether the attempt was started with a name written as a mail, where the portal takes
    the mail (from what was typed alone, whoever it names)."""
    return "@" in state.username and accounts().takes_mail


def _account_key(username: str) -> str:
    """The key a name's attempts and block are kept under (its canonical form, digested)."""
    return digest(accounts().canonical_username(username).casefold())


def _spellings(user) -> dict[str, str]:
    """The names a person's reset attempts may be started, counted and blocked under: the
    username ("name"), and the mail ("mail") where the portal takes it. Each spelling has its
    own count, as at sign-in, so a block on one tells nobody that the other is the same
    person's (§39)."""
    names = {"name": user.get_username()}
    if accounts().takes_mail and getattr(user, "email", ""):
        names["mail"] = user.email
    return names


def _attempts_key(account_key: str) -> str:
    return f"sspr:reset:attempts:{account_key}"


def _blocked_key(account_key: str) -> str:
    return f"sspr:reset:blocked:{account_key}"


def reset_blocks(user) -> dict[str, float]:
    """The day's blocks on the person's resets now (too many attempts started, below), by
    spelling ("name", "mail"), each with when it ends as a timestamp."""
    keys = {_blocked_key(_account_key(name)): which for which, name in _spellings(user).items()}
    now = time.time()
    return {keys[key]: until for key, until in cache.get_many(list(keys)).items() if until > now}


def reset_blocked_until(user) -> float | None:
    """When the last of the day's blocks on the person's resets ends; None when there is none."""
    return max(reset_blocks(user).values(), default=None)


def reset_blocked_names(usernames: list[str]) -> set[str]:
    """Which of these usernames are blocked now: one read of the shared cache for them all."""
    keys = {_blocked_key(_account_key(name)): name for name in usernames}
    now = time.time()
    return {keys[key] for key, until in cache.get_many(list(keys)).items() if until > now}


def lift_reset_block(*, request: HttpRequest, user, **details) -> bool:
    """The helpdesk lifts the block (after verifying the person: how, in `details`, for its
    event): the block and this hour's count of attempts go, so the next attempt starts
    afresh. Audited; returns whether there was one."""
    if reset_blocked_until(user) is None:
        return False
    keys = [_account_key(name) for name in _spellings(user).values()]
    # And this hour's count as the release before kept it, for a rolling upgrade's old hosts.
    hour = int(time.time() // 3600)
    cache.delete_many(
        [_blocked_key(key) for key in keys]
        + [_attempts_key(key) for key in keys]
        + [f"{_attempts_key(key)}:{hour}" for key in keys]
    )
    record(
        EventKind.RESET_BLOCK_LIFTED,
        request=request,
        actor=request.user,
        subject=user,
        reason="reset_attempts",
        **details,
    )
    return True


def starts_without_script() -> bool:
    """Whether a browser without JavaScript may start attempts at all (its budgets are not 0)."""
    return (
        app_settings.STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR > 0
        and app_settings.STARTS_WITHOUT_SCRIPT_PER_HOUR > 0
    )


def start_without_script(request: HttpRequest) -> bool:
    """Whether a first step sent by a browser without JavaScript, which cannot do the
    proof-of-work, may start an attempt: a few an hour from one network address, and from
    everywhere together, so that the check's cost to a crowd stays where it was (docs/security.md
    rule 17). Counted before any name is looked at, the same for every name; a start refused
    for its address does not count towards everyone's, nor one refused for everyone's towards
    its address's. The directory's state is looked at before (views.start): a start it could
    not make costs nothing."""
    per_address = app_settings.STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR
    overall = app_settings.STARTS_WITHOUT_SCRIPT_PER_HOUR
    address = limit_key(client_address(request))
    address_key = f"sspr:reset:without-script:ip:{address}"
    everyone_key = "sspr:reset:without-script:all"
    # Everyone's budget is looked at before the address's is counted: with it spent (by a
    # crowd, say), a person's tries do not use up their own address's budget too.
    allowed = (
        counting.recent(everyone_key, 3600) < overall
        and _count(address_key, 3600, per_address) <= per_address
        and _count(everyone_key, 3600, overall) <= overall
    )
    # Recorded once an hour for an address: these refusals cost the sender no proof-of-work,
    # and the audit log must not be theirs to fill.
    noted_key = f"sspr:reset:without-script:refused:{address}"
    if not allowed and cache.add(noted_key, 1, timeout=3600):
        record(EventKind.RESET_REFUSED, request=request, reason="without_script_limited")
    return allowed


def reset_begin(
    *, request: HttpRequest, username: str, action: str = "", check: str = ""
) -> ResetState | StartRefusal:
    """Start an attempt for whatever username was typed, for `action` when the person chose it
    with the name; `check` names the first page's solved check (kept with the attempt). Every
    account gets the same treatment."""
    username = accounts().canonical_username(username)
    account_key = _account_key(username)
    # At most 5 attempts an hour per account, then a day's block; per address too
    # (docs/security.md §16).
    per_account = app_settings.RESET_ATTEMPTS_PER_HOUR
    per_address = app_settings.RESET_STARTS_PER_IP_PER_HOUR
    address_key = f"sspr:reset:ip:{limit_key(client_address(request))}"
    if _count(address_key, 3600, per_address) > per_address:
        record(EventKind.RESET_REFUSED, request=request, reason="address_limited")
        return StartRefusal.ADDRESS_LIMITED
    blocked_key = _blocked_key(account_key)
    attempts = _count(_attempts_key(account_key), 3600, per_account)
    if attempts > per_account:
        # The block holds its own end time, so it ends on time whatever the cache's clock.
        cache.add(blocked_key, time.time() + BLOCK_SECONDS, timeout=BLOCK_SECONDS + 60)
    User = get_user_model()
    user = _by_name().get(username)
    if accounts().takes_mail:
        by_mail = _by_mail(username)  # asked for every name in this mode, found or not
        user = user or by_mail  # a username found is the one meant
    policy = Policy.load()
    # For an unknown name, ask the same scope question about nobody (id 0): the same queries.
    in_scope = policy.in_scope(user or User(pk=0, is_active=True))
    # Paused after a change was reported as not the person's (methods/not_me.py): read with
    # the account, in the one query every name gets, and the attempt then looks like any
    # other that cannot pass.
    paused = bool(user) and not_me.paused(user)
    usable = bool(user) and in_scope and not paused
    # Nothing of the person's methods is read here: a step that read them would do more work
    # for an account that has some (docs/security.md, "No enumeration").
    if cache.get(blocked_key, 0) > time.time():
        record(EventKind.RESET_REFUSED, request=request, subject=user, reason="account_blocked")
        return StartRefusal.ACCOUNT_BLOCKED
    state = ResetState(
        attempt=secrets.token_hex(8),
        user_id=user.pk if usable else None,
        username=username,
        started_at=time.time(),
        action=action,
        check=check,
        account=account_stamp(user if usable else None),
    )
    state.save(request)
    # The code binding is made now, for every account, so that no later step writes the
    # session for some accounts and not for others (the same cookies on every answer).
    method_flows.session_binding(request)
    request.session.cycle_key()
    record(
        EventKind.RESET_STARTED,
        request=request,
        subject=user,
        attempt=state.attempt,
        usable=usable,
    )
    return state


def account_stamp(user) -> str:
    """A keyed digest of the account's stored password, kept by an attempt from its start: a
    new password changes it, and so does the name being given to someone new
    (directory.mirror.forget_previous_holder gives the row a new password), so an attempt
    proven for whoever held the account then never finishes on it as it is now (reset_finish).
    Worked out for every name (None: no account), the same work either way."""
    stored = user.password if user is not None else ""
    return salted_hmac("sspr.reset.account", stored, algorithm="sha256").hexdigest()


def same_account(state: ResetState, user, stored=None) -> bool:
    """Whether the account is the one the attempt began with (account_stamp), as `stored`
    has it (the row locked for the last step), else as `user` was read in this request. An
    attempt kept by a release before the stamp (an empty one) is held to the one change that
    matters most: its name not given to someone new since it began."""
    if state.account:
        return constant_time_compare(state.account, account_stamp(stored or user))
    started = datetime.datetime.fromtimestamp(state.started_at, tz=datetime.UTC)
    return not Event.objects.filter(
        kind=EventKind.DIRECTORY_NAME_REUSED, subject_id=user.pk, created_at__gte=started
    ).exists()


class _Promoted(Exception):
    """Inside the last step: the account is an administrator's now, and the attempt does not
    meet their rule."""


class AccountChanged(Exception):
    """The account's password was set, or its name given to someone new, since the attempt
    began (account_stamp): what the attempt proved was about the account as it was then.
    `args[0]` "privileged": the directory made it an administrator's since it was last read,
    whose rule asks more (reset_finish)."""


PROOFS_PER_HOUR = 5  # attempts at a proof before a change that did not pass, per person


def prove_begin(*, request: HttpRequest, user) -> ResetState | None:
    """Start a proof with a registered method for the signed-in `user` (methods/proof.py). It
    goes through the same method pages, tries and sending limits as a reset; at most
    PROOFS_PER_HOUR attempts an hour per person (None past it)."""
    if _count(_proofs_key(user), 3600, PROOFS_PER_HOUR) > PROOFS_PER_HOUR:
        record(EventKind.RESET_REFUSED, request=request, subject=user, reason="proof_limited")
        return None
    state = ResetState(
        attempt=secrets.token_hex(8),
        user_id=user.pk,
        username=user.get_username(),
        started_at=time.time(),
        action=Action.PROVE,
    )
    state.save(request)
    method_flows.session_binding(request)
    request.session.cycle_key()
    return state


def _proofs_key(user) -> str:
    return f"sspr:prove:attempts:{user.pk}"


def prove_passed(*, request: HttpRequest, state: ResetState, user) -> bool:
    """Whether this proof attempt has passed a method that proves who the person is; if so it
    ends, and the session may change methods for the next few minutes."""
    if state.action != Action.PROVE or user is None:
        return False
    if not any(method_for_kind(kind).counts_alone for kind in state.passed):
        return False
    reset_state.clear(request)
    proof.mark_proved(request)
    cooling.from_a_proof(request)
    # A proof that passed does not count among the hour's attempts: the limit bounds the
    # guesses of attempts that did not, and a person making several changes in an hour, each
    # after a proof, is not stopped by their own successes.
    counting.forget_latest(_proofs_key(user), 3600)
    record(
        EventKind.CHANGE_PROVED,
        request=request,
        subject=user,
        attempt=state.attempt,
        methods=state.passed,
    )
    return True


def state_user(state: ResetState):
    """The account being reset, or None. The same query either way: a step must not be
    quicker for a name that matched no account (docs/security.md, "No enumeration"). Read
    once per step: the attempt is loaded from the session for each request, and the account
    read with it is kept on it (not in the session) for the rest of that request."""
    user_id = state.user_id or 0
    kept = state.__dict__.get("_account")
    if kept is not None and kept[0] == user_id:
        return kept[1]
    user = _RESETTABLE.get(user_id)
    state.__dict__["_account"] = (user_id, user)
    return user


# Read on every step of an attempt (sspr_site/compiled_query.py).
_RESETTABLE = OneRow(
    lambda: get_user_model().objects.filter(is_active=True, sspr_block__isnull=True)
)


def proof_of(state: ResetState, user, policy: Policy, cools: dict | None = None) -> Proof:
    """What this attempt has passed, in the terms of the reset rule. A method cooling off
    counts only beside one the person had before (methods/cooling.py)."""
    passed = [method for method in REGISTRY.values() if str(method.kind) in state.passed]
    privileged = is_privileged(user)
    if cools is None:
        cools = cooling.of(user.pk) if passed and user is not None else {}
    return reset_rule.proof_of(
        passed,
        privileged=privileged,
        policy=policy,
        fresh=cooling.is_fresh(passed, cools, privileged),
    )


def fresh_from(state: ResetState, user, policy: Policy, methods: UserMethods | None = None):
    """When the person can reset on their own, where only cooling-off stops them now: the
    overview's date (registration's `can_reset_from`), from every method they hold (`methods`,
    loaded here unless the caller has them). Asked once a method passed (the account is then
    known to the person), when none is left to offer; None otherwise."""
    if not state.passed or user is None:
        return None
    if methods is None:
        methods = UserMethods.load(user)
    held = [status.method for status in statuses(methods, policy) if status.counts]
    cools = methods.cooling
    privileged = is_privileged(user)
    proof = reset_rule.proof_of(
        held,
        privileged=privileged,
        policy=policy,
        fresh=cooling.is_fresh(held, cools, privileged),
    )
    return cooling.reset_from(held, cools, proof, ResetRule.of(policy))


def still_needed(state: ResetState, user, policy: Policy) -> int:
    """How many more methods this attempt must pass (by the reset rule, for this account).
    Before a first method passed, the policy's number, the same for every name typed."""
    if not state.passed or user is None:
        return policy.reset_methods_required
    return max(ResetRule.of(policy).short_of(proof_of(state, user, policy)), 1)


def counts_for_user(user, method) -> bool:
    """Whether `method` counts at all for the account being reset (methods/reset_rule.py);
    for an unknown account, as for anyone, so the step looks the same."""
    return user is None or reset_rule.counts_for(method, is_privileged(user))


def identity_proven(state: ResetState, user, policy: Policy) -> bool:
    """Enough methods passed, by the one reset rule (methods.reset_rule). Never for a proof
    before a change: it ends at the setup pages, never at a new password."""
    # The rule is worked out whether or not the name matched an account: the step takes the
    # same time either way (docs/security.md, "No enumeration"); only the answer differs.
    allowed = ResetRule.of(policy).allows(proof_of(state, user, policy))
    return allowed and user is not None and state.action != Action.PROVE


def reset_after_pass(state: ResetState, user=None) -> str:
    """Where a method that just passed leads: straight to the new password once the reset rule
    is met (where the methods page would send the browser on, a request sooner); otherwise the
    methods page, for another method or to end a proof before a change. `user`: the attempt's
    account when the caller has read it already (state_user)."""
    if identity_proven(state, user or state_user(state), Policy.load()):
        return reverse("passwordreset:finish")
    return reverse("passwordreset:methods")


def offered_methods(
    state: ResetState, policy: Policy, user=None, methods: UserMethods | None = None
) -> list:
    """The methods this attempt may use next, less those already passed (`methods`: the
    person's, when the caller has loaded them).

    Before a first method passed: every method the policy enables, for every account alike
    (docs/security.md §12: nothing tells an administrator account from another). Once one
    passed, the person has shown who they are: only methods that can still count for this
    account under the reset rule (never security questions for an administrator account),
    so nothing is offered that would then be refused, and only those the person registered."""
    if state.action == Action.PROVE:
        # The signed-in person's own methods that can prove who they are, strongest first.
        if user is None:
            return []
        return [m for m in proof.proving_methods(user, policy) if str(m.kind) not in state.passed]
    # Strongest first, the same order for every account (methods/proof.py).
    offered = [
        m for m in proof.strongest_first(enabled_methods(policy)) if str(m.kind) not in state.passed
    ]
    if not state.passed or user is None:
        if typed_as_mail(state):
            # The person's questions would read alike under their mail and their username,
            # telling that both are one person's: after another method, for every such name.
            offered = [m for m in offered if not m.shows_the_persons_own]
        return offered
    # Known now: only what the person registered (a method they never set up could only
    # lead to a page that never passes).
    theirs = UserMethods.load(user) if methods is None else methods
    offered = [m for m in offered if m.usable_at_reset(theirs, policy)]
    rule = ResetRule.of(policy)
    cools = cooling.of(user.pk)
    passed = proof_of(state, user, policy, cools)
    if not passed.fresh:
        # Only new methods passed: one the person had before makes them count (not security
        # questions: methods/cooling.py).
        return [
            m
            for m in offered
            if str(m.kind) not in cools
            and m.vouches_for_new
            and reset_rule.counts_for(m, passed.privileged)
        ]

    # A method cooling off counts only beside one that vouches for it (methods/cooling.py):
    # offered when one passed already or is still on offer, never to be spent in vain.
    def vouches(method) -> bool:
        return (
            str(method.kind) not in cools
            and method.vouches_for_new
            and reset_rule.counts_for(method, passed.privileged)
        )

    vouched = any(vouches(m) for m in REGISTRY.values() if str(m.kind) in state.passed)
    return [
        m
        for m in offered
        if rule.helps(passed, m)
        and (str(m.kind) not in cools or vouched or any(vouches(o) for o in offered if o is not m))
    ]


def reset_send_code(
    *,
    request: HttpRequest,
    state: ResetState,
    method: CodeMethod,
    destination: str,
    channel: str,
    form: str = "",
) -> bool:
    """Ask for a code to `destination`; say nothing about whether it will be sent. `form` is
    the send page's own token: the same form sent again while its code is live (a reload of
    the code page that came in its answer, without JavaScript) asks for nothing more, so the
    code on its way stays the one that works; a send page opened again asks anew.

    The request does the same for every account: it queues one job, which compares the typed
    destination with the registered one and sends a code only if they match. Whether anything
    matched is decided off the request path, so neither the answer nor its timing can tell
    (docs/security.md, "No enumeration"). Returns False only when this attempt has asked for
    too many codes (the same for all).
    """
    asked = digest(f"{form}\n{method.kind}\n{destination.strip()}\n{channel}") if form else ""
    if asked and asked == state.code_form and state.code_seconds_left:
        return True  # decided from the attempt alone: the same for every name
    # Counted for the attempt's whole life, however often it was given more time.
    sends = _count_for(f"sspr:reset:sends:{state.attempt}", reset_state.LONGEST_SECONDS)
    if sends > SENDS_PER_ATTEMPT:
        return False
    state.code_method = str(method.kind)
    reset_state.note_channel(request, channel == Channel.VOICE)
    state.code_asked_at = time.time()
    state.code_extensions = 0
    state.code_form = asked
    state.save(request)
    outbox.later(
        "passwordreset.flows.reset_code_job",
        # Tracked for every name alike: the code page's delay notice (reset_code_delivery).
        track=_code_request(state, method),
        attempt=state.attempt,
        user_id=state.user_id,
        method=str(method.kind),
        destination=destination.strip(),
        channel=str(channel),
        binding=method_flows.session_binding(request),
        ip=client_address(request),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        proof=state.action == Action.PROVE,
    )
    return True


def reset_code_more_time(*, request: HttpRequest, state: ResetState, method: CodeMethod):
    """Another 10 minutes for the code this attempt asked for (WCAG 2.2, 2.2.1), at most
    CODE_EXTENSIONS times. None once the code's time has run out (a new code is the way on),
    False past the last extension. Decided from the attempt alone, so the answer is the same
    for every name. The code's own row, if one went out to this session, is given the time by
    a job queued alike for every name, off the request path, so not even the time taken says
    whether a code had gone out (docs/security.md, "No enumeration")."""
    if state.code_method != str(method.kind) or not state.code_seconds_left:
        return None
    if state.code_extensions >= code_settings.CODE_EXTENSIONS:
        return False
    outbox.later(
        "passwordreset.flows.reset_code_more_time_job",
        user_id=state.user_id,
        method=str(method.kind),
        binding=method_flows.session_binding(request),
    )
    state.code_asked_at = time.time()
    state.code_extensions += 1
    state.save(request)
    return True


def reset_code_more_time_job(*, user_id: int | None, method: str, binding: str) -> None:
    """Off the request path: another 10 minutes for the code this session asked for, if any."""
    VerificationCode.give_more_time(
        user_id=user_id, method=method, purpose=Purpose.RESET, binding=binding
    )


def _code_request(state: ResetState, method: CodeMethod) -> tuple:
    return ("reset", state.attempt, str(method.kind))


def reset_code_delivery(state: ResetState, method: CodeMethod):
    """Whether this attempt's request for a code has been handled (delivery.tracking).

    It speaks of the job the request queued, which runs for every name alike and only then
    compares the destination: "not handled yet" is the same for an unknown name as for a
    registered one, and whether a code went out is never told (docs/security.md §12)."""
    return delivery_tracking.lookup(_code_request(state, method))


def reset_code_job(
    *,
    attempt: str,
    user_id: int | None,
    method: str,
    destination: str,
    channel: str,
    binding: str,
    ip: str | None,
    language: str,
    proof: bool = False,
) -> None:
    """Off the request path: send a reset code if `destination` is the one registered.
    `proof`: for a proof before a change, which its events say (not a reset)."""
    # The person and their methods in one query. An account turned off since, or whose
    # self-service was paused since (methods/not_me.py): no one, as every later step reads it.
    methods = UserMethods.load_or_none(user_id or 0)
    usable = methods.user is not None and methods.user.is_active and not methods.paused
    user = methods.user if usable else None
    code_method = method_for_kind(method)
    registered = code_method.reset_destination(methods) if user is not None else None
    matches = constant_time_compare((registered or "\x00").casefold(), destination.casefold())
    if user is None or not registered or not matches:
        _failed_record(None, attempt, user, method, "destination_mismatch", ip=ip)
        return
    # In the person's own language, else the page's (README, "Languages").
    with in_language_of(user, default=language):
        result = method_flows.code_issue(
            user=user,
            method=code_method,
            purpose=Purpose.RESET,
            destination=registered,
            channel=channel,
            binding=binding,
            ip=ip,
            policy=Policy.load(),
            audit_purpose="proof" if proof else None,
        )
    if not result.sent:
        logger.info("reset code not sent attempt=%s reason=%s", attempt, result.refusal)


def reset_check_code(
    *, request: HttpRequest, state: ResetState, method: CodeMethod, code: str
) -> bool:
    """Check a code. Every account goes through the same locked query and audit write."""
    user = state_user(state) if state.code_method == str(method.kind) else None
    outcome = method_flows.code_check(
        request=request, user=user, method=method, purpose=Purpose.RESET, code=code
    )
    if outcome is not CheckOutcome.VERIFIED:
        return False
    method_passed(request, state, user, str(method.kind))
    return True


class CheckUnderway(Exception):
    """A method's proof sent while another window of the same attempt has the same method's
    proof being checked (the portal's `reset_page` answers it)."""


class PassedElsewhere(Exception):
    """A method's proof sent after another window of the same attempt passed it, whose answer
    this browser did not keep: the attempt now holds it as passed (`reset_page` leads on)."""


# How long a check of one method may hold its attempt's claim at most (a check takes well
# under a second; the claim is dropped when it ends, this only bounds one that never does).
CHECK_CLAIM_SECONDS = 60


def reset_prove(
    *, request: HttpRequest, state: ResetState, method, check, reason: str = "wrong"
) -> bool:
    """Prove identity with a method that checks what the person enters on the page itself
    (a code from an app, a passkey, answers): `check(user_id)` does the method's work, given
    the attempt's account or None. Every account goes through the same steps; at most
    TRIES_PER_METHOD checks an attempt, then every answer is a refusal (`reason` in its
    event).

    One check of a method at a time per attempt, and none after it passed: two windows of
    one attempt sending two recovery codes at once would otherwise spend both (a code is
    spent by its check). A claim in the shared cache is held while a check runs
    (CheckUnderway for a proof sent meanwhile, unchecked and uncounted); a pass is noted
    there too, once recorded, so a window whose session missed it (another window's answer
    kept instead, or its own answer lost) takes it as passed rather than checking again."""
    user = state_user(state)
    kind = str(method.kind)
    passed_key = f"sspr:reset:proved:{state.attempt}:{method.key}"
    if cache.get(passed_key):
        if kind not in state.passed:
            state.passed.append(kind)
            state.save(request)
        raise PassedElsewhere
    claim = f"sspr:reset:proving:{state.attempt}:{method.key}"
    if not cache.add(claim, 1, CHECK_CLAIM_SECONDS):
        raise CheckUnderway
    try:
        tries = _count_for(
            f"sspr:reset:tries:{state.attempt}:{method.key}", reset_state.LONGEST_SECONDS
        )
        ok = check(user.pk if user else None) if tries <= TRIES_PER_METHOD else False
        if not ok or user is None:
            method_failed(request, state, user, kind, reason)
            return False
        method_passed(request, state, user, kind)
        cache.set(passed_key, 1, reset_state.LONGEST_SECONDS + 60)
        return True
    finally:
        cache.delete(claim)


def method_failed(request: HttpRequest, state: ResetState, user, kind: str, reason: str) -> None:
    _failed_record(request, state.attempt, user, kind, reason, **_proof_detail(state))


def _proof_detail(state: ResetState) -> dict:
    """A proof before a change goes through the portal's steps: its events say so, so the
    helpdesk's history does not read them as a reset (docs/security.md §66)."""
    return {"purpose": "proof"} if state.action == Action.PROVE else {}


def _failed_record(
    request: HttpRequest | None,
    attempt: str,
    user,
    kind: str,
    reason: str,
    ip: str | None = None,
    **details,
) -> None:
    record(
        EventKind.RESET_METHOD_FAILED,
        request=request,
        ip=ip,
        subject=user,
        attempt=attempt,
        method=kind,
        reason=reason if user else "no_account",
        **details,
    )


def method_passed(request: HttpRequest, state: ResetState, user, kind: str) -> None:
    state.passed.append(kind)
    state.code_method = ""
    state.questions = []  # asked questions are kept only until a method passes
    state.save(request)
    request.session.cycle_key()  # a new key after each passed step (docs/security.md §23)
    record(
        EventKind.RESET_METHOD_PASSED,
        request=request,
        subject=user,
        attempt=state.attempt,
        method=kind,
        **_proof_detail(state),
    )
    lifecycle.used(request=request, user=user, method=method_for_kind(kind))


def refused_disabled(request: HttpRequest, state: ResetState, user) -> None:
    """The account store would not reset or unlock a turned-off account (docs/security.md
    §70): recorded for the helpdesk, nothing changed."""
    record(
        EventKind.RESET_REFUSED,
        request=request,
        subject=user,
        attempt=state.attempt,
        reason="account_disabled",
    )


def reset_already_made(state: ResetState, user) -> bool:
    """Whether this attempt's reset (or unlock) was already made: a request sent again after
    its first try completed but its answer never came back (a host that stopped in between,
    the person pressing again). It is not made twice (docs/security.md rule 3 for codes; the
    same for the last step)."""
    if user is None or state.action not in (Action.RESET, Action.UNLOCK):
        return False
    kind = EventKind.PASSWORD_RESET if state.action == Action.RESET else EventKind.ACCOUNT_UNLOCKED
    return Event.objects.filter(kind=kind, subject=user, details__attempt=state.attempt).exists()


# The person's row, locked for the last step (sspr_site/compiled_query.py).
_LOCKED_PERSON = OneRow(lambda: get_user_model().objects.select_for_update().only("pk", "password"))


class Finished(NamedTuple):
    """What the last step did: whether it made the change now (not earlier in this attempt),
    and to how many of the person's addresses a notice of it went (the done page says so only
    then, as many as there were)."""

    made: bool
    notified: int  # how many addresses were written to


class ProofWithdrawn(Exception):
    """Methods this attempt passed that the person has removed or changed since it began: they
    prove nothing now (docs/security.md §15). `args[0]`: their kinds."""


def withdrawn_methods(state: ResetState, user) -> list[str]:
    """The methods this attempt passed that the person added, replaced or removed since the
    attempt began (methods/not_me.py records every such change): whoever holds a lost phone,
    having passed its code, cannot finish once the person took the phone off their account.
    A method the attempt itself used up (the last recovery code) is no change."""
    started = datetime.datetime.fromtimestamp(state.started_at, tz=datetime.UTC)
    changed = not_me.changed_since(user.pk, state.passed, started)
    return [kind for kind in state.passed if kind in changed]


def withdraw(
    request: HttpRequest, state: ResetState, kinds: list[str], reason: str = "methods_changed"
) -> None:
    """The attempt ends: what it passed proves nothing now, and a method changed since it began
    could never count in it again (or the account itself changed: `reason` "account_changed",
    AccountChanged). Recorded for the helpdesk; the person starts again with the methods the
    account has now."""
    reset_state.clear(request)
    record(
        EventKind.RESET_REFUSED,
        request=request,
        subject=state_user(state),
        attempt=state.attempt,
        reason=reason,
        methods=kinds,
    )


def reset_finish(
    *, request: HttpRequest, state: ResetState, user, password: str | None
) -> Finished:
    """Set the new password (reset) or only clear the lockout (unlock); then tell people.

    The account store does the work: Django's user table or the directory. When it refuses
    (PasswordRefused), cannot be reached (DirectoryUnavailable) or no longer has the person
    (AccountMissing), the exception reaches the page with nothing changed and nothing recorded
    as done; the attempt stays, so another password can be tried.

    No automatic sign-in. A new password ends every session of the user, since each session
    carries a hash of the password it was opened with (in directory mode, of the local
    unusable one, which the store renews).

    `made` is False when this attempt's change had already been made (two presses at once, or
    a request sent again after the first completed): it is not made twice.
    """
    policy = Policy.load()
    store = accounts()
    kind = EventKind.PASSWORD_RESET if state.action == Action.RESET else EventKind.ACCOUNT_UNLOCKED
    try:
        # The change and its record commit together (in Django's user table; the directory is
        # written first), so a retried request knows it was made (reset_already_made).
        with transaction.atomic():
            # One finish at a time per person (the row lock; SQLite writes one at a time),
            # and none after this attempt's own.
            locked = _LOCKED_PERSON.get(user.pk)
            if reset_already_made(state, user):
                return Finished(made=False, notified=0)  # the first request's to say
            if not same_account(state, user, locked):
                raise AccountChanged
            if withdrawn := withdrawn_methods(state, user):
                raise ProofWithdrawn(withdrawn)
            if not is_privileged(user) and store.privileged_now(user):
                # Made an administrator in the directory since the mirror last read it: held
                # to the administrators' rule now (two methods, never security questions:
                # docs/security.md §14). What the attempt passed may meet it already.
                user.is_staff = True
                if not identity_proven(state, user, policy):
                    raise _Promoted
                get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
            if state.action == Action.RESET:
                store.set_password(user, password)
            else:
                store.unlock(user)
            record(
                kind,
                request=request,
                actor=user,
                subject=user,
                attempt=state.attempt,
                methods=state.passed,
                store=store.kind,
            )
    except PasswordRefused as refusal:
        record(
            EventKind.PASSWORD_REFUSED,
            request=request,
            subject=user,
            attempt=state.attempt,
            reason=refusal.reason,
        )
        raise
    except _Promoted:
        # The mirror learns it (outside the transaction taken back); the next attempt is held
        # to the administrators' rule from its start.
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
        raise AccountChanged("privileged") from None
    except ChangeUnconfirmed:
        # It may have been set: every session ends, as a new password's would, and the
        # audit log says what is known (directory.accounts.ChangeUnconfirmed).
        end_sessions(user)
        # The person may set one here again (the page says so): the account as this attempt
        # left it is the one it goes on with.
        state.account = account_stamp(user)  # end_sessions gave it its new password
        state.save(request)
        record(
            EventKind.PASSWORD_UNCONFIRMED,
            request=request,
            subject=user,
            attempt=state.attempt,
            store=store.kind,
        )
        raise
    clear_failures_of(user)
    if state.action == Action.RESET:
        signals.password_reset.send(sender=None, user=user, request=request)
    notified = notify_user(user, state.action) if policy.notify_users_on_reset else 0
    if user.is_staff and policy.notify_admins_on_admin_reset:
        _notify_admins(user, state.action)
    return Finished(made=True, notified=notified)


def _user_addresses(user) -> list[str]:
    addresses = {user.email} if user.email else set()
    methods = UserMethods.load(user)
    addresses.update(
        address for method in REGISTRY.values() if (address := method.notice_address(methods))
    )
    return sorted(addresses)


def _send_each(addresses: list[str], template: str, context: dict, user=None) -> None:
    """Queue one notice per address; one that cannot go out does not undo the reset."""
    subject = render_to_string(f"passwordreset/messages/{template}_subject.txt", context).strip()
    body = render_to_string(f"passwordreset/messages/{template}.txt", context)
    for address in addresses:
        outbox.send(
            Message(
                channel="email",
                to=address,
                subject=subject,
                body=body,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                user_id=getattr(user, "pk", None),
                masked_to=mask_email(address),
            )
        )


def notify_user(user, action: str) -> int:
    """Tell the person, at every address they have, that their password or lock changed, in
    their own language (README, "Languages"). How many addresses were written to."""
    with in_language_of(user):
        return _notify_user(user, action)


def _notify_user(user, action: str) -> int:
    context = {
        "name": user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "action": action,
        "when": timezone.localtime(),
        "helpdesk": Policy.load().helpdesk_contact,
        "site_url": site_settings.SITE_URL,
    }
    addresses = _user_addresses(user)
    _send_each(addresses, "user_notice", context, user=user)
    return len(addresses)


def _notify_admins(user, action: str) -> None:
    """Tell every other superuser, each in their own language (README, "Languages")."""
    admins = dict(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(pk=user.pk)
        .exclude(email="")
        .values_list("pk", "email")
    )
    languages = stored_languages(admins)
    context = {
        "username": user.get_username(),
        "action": action,
        "when": timezone.localtime(),
        "site_url": site_settings.SITE_URL,
    }
    by_language: dict[str, set[str]] = {}
    for admin_id, address in admins.items():
        language = languages.get(admin_id) or settings.LANGUAGE_CODE
        by_language.setdefault(language, set()).add(address)
    for language, addresses in sorted(by_language.items()):
        with translation.override(language):
            _send_each(sorted(addresses), "admin_notice", context)
