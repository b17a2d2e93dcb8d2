"""The password hasher: Argon2id with its cost in settings, and a bound on hashes at once.

Every password, security answer and the dummy hash an unknown username costs goes through it
(PASSWORD_HASHERS puts it first; docs/performance.md, "The password hasher").

- Its parameters are SSPR_ARGON2_TIME_COST, SSPR_ARGON2_MEMORY_KIB and SSPR_ARGON2_PARALLELISM
  (README, "Configuration"). It keeps Django's algorithm name, "argon2": a stored hash carries
  its own parameters and verifies whatever they are, and one whose parameters differ from the
  settings is hashed again with them at the person's next successful sign-in (Django's
  must_update).
- At most SSPR_CONCURRENT_HASHES hashes run at once in a process, each holding memory_cost of
  memory; a request waits up to SSPR_HASH_WAIT_SECONDS for a turn, then HasherBusy is raised and
  passwords.middleware answers 503, having changed nothing.
"""

from __future__ import annotations

import threading

from django.contrib.auth import hashers

from .conf import app_settings


class HasherBusy(Exception):
    """Every hashing slot of this process stayed taken for SSPR_HASH_WAIT_SECONDS."""


_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slots_size = 0


def slots() -> threading.BoundedSemaphore:
    """The process's hashing slots, SSPR_CONCURRENT_HASHES of them (made again if it changes)."""
    global _slots, _slots_size
    size = max(1, int(app_settings.CONCURRENT_HASHES))
    with _slots_lock:
        if _slots is None or _slots_size != size:
            _slots, _slots_size = threading.BoundedSemaphore(size), size
        return _slots


class _Turn:
    """Hold one hashing slot for the duration of a `with` block, or raise HasherBusy."""

    def __enter__(self) -> threading.BoundedSemaphore:
        self.semaphore = slots()
        if not self.semaphore.acquire(timeout=float(app_settings.HASH_WAIT_SECONDS)):
            raise HasherBusy
        return self.semaphore

    def __exit__(self, *exc_info) -> None:
        self.semaphore.release()


def turn() -> _Turn:
    return _Turn()


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """Django's Argon2id hasher with the cost read from settings and a bound on hashes at once."""

    @property
    def time_cost(self) -> int:
        return int(app_settings.ARGON2_TIME_COST)

    @property
    def memory_cost(self) -> int:
        return int(app_settings.ARGON2_MEMORY_KIB)

    @property
    def parallelism(self) -> int:
        return int(app_settings.ARGON2_PARALLELISM)

    def encode(self, password, salt):
        with turn():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with turn():
            return super().verify(password, encoded)
