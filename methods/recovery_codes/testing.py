"""What the contract suite (tests/methods/test_contract.py) needs to give a person this
method directly: `register(user, n)` returns the secrets that must never be shown to others."""

from __future__ import annotations

from . import codes


def register(user, n: int) -> list[str]:
    shown, _replaced = codes.make_set(user)
    return [*shown, *(codes.normalise(code) for code in shown)]
