"""Proof with a registered method before a change (README, "Proof before change";
docs/security.md rule 66).

Once a person has a method that can prove who they are (one that counts, and counts on its
own: security questions never suffice alone), adding, replacing or removing any
method needs such a proof in this session within the last SSPR_METHOD_PROOF_SECONDS (five
minutes). The password alone suffices only for a first registration and for confirming what an
administrator entered and nobody verified yet. The proof itself runs through the reset
portal's pages for each method (passwordreset, action "prove"), under the same limits; what
is kept here is only when it passed, in the session, so it ends with the session.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from django.http import HttpRequest

from .conf import app_settings
from .registry import MethodState, UserMethods, statuses

PROVED_AT = "sspr_method_proved_at"
ADDED_HERE = "sspr_proving_added_here"


def mark_proved(request: HttpRequest) -> None:
    request.session[PROVED_AT] = int(time.time())


def recently_proved(request: HttpRequest) -> bool:
    proved_at = request.session.get(PROVED_AT)
    return (
        isinstance(proved_at, int) and time.time() - proved_at < app_settings.METHOD_PROOF_SECONDS
    )


def strongest_first(methods) -> list:
    """`methods` ordered by how hard each is to steal or phish (Method.proof_strength), the
    registry's order among equals."""
    return sorted(methods, key=lambda method: -method.proof_strength)


def proving_methods(user, policy, registered: UserMethods | None = None) -> list:
    """The methods `user` can prove who they are with, strongest first: the ones that count
    for them under the policy and count on their own (never security questions).

    A method still cooling off (methods/cooling.py) proves nothing while an older one can:
    whoever added it may be the one asking, and with it could remove the person's own older
    methods (docs/security.md rule 69). Where every such method is cooling off, those: the
    person is not left unable to change anything, and there is no older method to protect."""
    registered = registered or UserMethods.load(user)
    able = strongest_first(
        status.method
        for status in statuses(registered, policy)
        if status.counts and status.method.counts_alone
    )
    cools = registered.cooling
    return [method for method in able if str(method.kind) not in cools] or able


def change_needs_proof(
    user, policy, registered: UserMethods | None = None, *, besides: Collection[str] = ()
) -> bool:
    """Whether a change needs a proof first: the person holds a method that can prove who they
    are (proving_methods), or one the policy no longer lets prove anything (held_but_unusable),
    other than those of the kinds `besides` (added_here). One pass over the statuses answers
    both."""
    registered = registered or UserMethods.load(user)
    return any(
        (status.state == MethodState.NOT_ALLOWED or (status.counts and status.method.counts_alone))
        and str(status.method.kind) not in besides
        for status in statuses(registered, policy)
    )


def note_added_here(request: HttpRequest, method) -> None:
    """`method`, verified in this session, proves who the person is (registration/signals.py):
    a change this session began before it was added needs no proof with it."""
    kinds = list(request.session.get(ADDED_HERE, ()))
    if str(method.kind) not in kinds:
        request.session[ADDED_HERE] = [*kinds, str(method.kind)]


def added_here(request: HttpRequest) -> set[str]:
    """The kinds of the methods verified in this session that prove who the person is."""
    kinds = request.session.get(ADDED_HERE, ())
    return {kind for kind in kinds if isinstance(kind, str)} if isinstance(kinds, list) else set()


def held_but_unusable(registered: UserMethods, policy) -> bool:
    """Whether the person holds a method the policy no longer lets prove anything (a number
    outside its countries). They had methods: a change still needs a proof, which only a
    temporary access pass can give now, and what they add cools off."""
    return any(status.state == MethodState.NOT_ALLOWED for status in statuses(registered, policy))
