"""A second person for lifting a pause or a block on an account one agent alone must not be
able to take over (docs/security.md rule 50): an administrator account, or one that may use
the helpdesk or approve passes, as for a temporary access pass.

The first agent who verified the caller and pressed the button asks; the pause or block is
lifted when a second person, who may approve passes, verifies the caller too and presses it
within CHECK_VALID_SECONDS. The ask is kept in the shared cache (every host reads it): who
asked, and when; nothing about the caller. Each ask is taken once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from methods.reset_rule import is_privileged

# As long as a caller check counts (helpdesk.views.CHECK_VALID_SECONDS).
ASK_SECONDS = 15 * 60
ACTIONS = ("resume", "block")


def needs_second_person(user, helpdesk_permissions: set[str]) -> bool:
    """An administrator account, or one that holds either helpdesk permission
    (`helpdesk_permissions`, read with the page's own query)."""
    return is_privileged(user) or user.is_superuser or bool(helpdesk_permissions)


@dataclass(frozen=True)
class Ask:
    by: int  # the agent who asked
    at: float
    # Which pause or block it was made for (when it began, or ends): an ask for one never
    # lifts the next, whoever sets it.
    episode: float

    @property
    def until(self) -> float:
        return self.at + ASK_SECONDS


def _key(action: str, user_id: int) -> str:
    return f"sspr:helpdesk:second-person:{action}:{user_id}"


def _read(value) -> Ask | None:
    if not isinstance(value, dict):
        return None
    by, at, episode = value.get("by"), value.get("at"), value.get("episode")
    if not isinstance(by, int) or not all(isinstance(x, int | float) for x in (at, episode)):
        return None
    if time.time() >= at + ASK_SECONDS:
        return None
    return Ask(by=by, at=at, episode=episode)


def asks(user_id: int, episodes: dict[str, float | None]) -> dict[str, Ask]:
    """The live asks for the person's pause and block as they are now (`episodes`, by action;
    None for one there is not): one round trip."""
    wanted = [action for action in ACTIONS if episodes.get(action) is not None]
    if not wanted:
        return {}
    found = cache.get_many([_key(action, user_id) for action in wanted])
    live = {action: _read(found.get(_key(action, user_id))) for action in wanted}
    return {
        action: each
        for action, each in live.items()
        if each is not None and each.episode == episodes[action]
    }


def ask(action: str, user_id: int, agent_id: int, episode: float) -> bool:
    """Record the ask; False when a live one is there already (two first presses at once:
    one asks)."""
    key = _key(action, user_id)
    held = _read(cache.get(key))
    if held is None or held.episode != episode:
        cache.delete(key)  # lapsed, or for an earlier pause or block
    value = {"by": agent_id, "at": time.time(), "episode": episode}
    return bool(cache.add(key, value, timeout=ASK_SECONDS))


def take(action: str, user_id: int) -> bool:
    """The ask is used: whether this request was the one to take it (of two second persons
    pressing at once, one lifts)."""
    return bool(cache.delete(_key(action, user_id)))
