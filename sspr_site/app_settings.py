"""One way to read the project's own settings (docs/architecture.md, "Where settings are read").

Each app lists the `SSPR_…` settings it reads in its `conf.py`, each with its default and kind:

    app_settings = AppSettings({"CODE_VALID_SECONDS": Setting(600, int)})
    app_settings.CODE_VALID_SECONDS  # settings.SSPR_CODE_VALID_SECONDS, or 600 when not set

Every read looks at django.conf.settings again (nothing is cached), so tests can override a
setting with pytest-django's `settings` fixture. `check()` reports a configured value of the
wrong kind; sspr_site.checks runs it for every app.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

PREFIX = "SSPR_"
WRONG_KIND = "sspr.E030"


@dataclass(frozen=True)
class Setting:
    """A setting's value when it is not configured, and the type (or types) it must have."""

    default: Any
    kind: type | tuple[type, ...]


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def fits(value: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether a value has the kind; True and False are not numbers here."""
    kinds = _kinds(kind)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


class AppSettings:
    """An app's `SSPR_…` settings, read by their name without the prefix."""

    def __init__(self, specs: Mapping[str, Setting]) -> None:
        self._specs = dict(specs)

    def __getattr__(self, name: str) -> Any:
        specs = self.__dict__.get("_specs", {})
        if name not in specs:
            raise AttributeError(f"{PREFIX}{name} is not one of this app's settings")
        value = getattr(settings, PREFIX + name, _UNSET)
        if value is _UNSET:
            # A copy, so that no caller changes the default for the next one.
            return copy.deepcopy(specs[name].default)
        return value

    def __dir__(self) -> list[str]:
        return sorted(self._specs)

    @property
    def specs(self) -> dict[str, Setting]:
        """The settings this app reads, by name without the prefix."""
        return dict(self._specs)

    def check(self) -> list:
        """A system check error for every configured value of the wrong kind."""
        from django.core.checks import Error

        errors = []
        for name, spec in self._specs.items():
            value = getattr(settings, PREFIX + name, _UNSET)
            if value is _UNSET or fits(value, spec.kind):
                continue
            expected = " or ".join(kind.__name__ for kind in _kinds(spec.kind))
            errors.append(
                Error(
                    # The type only: a value may be a secret (a token, a key).
                    f"{PREFIX}{name} is a {type(value).__name__}, not a {expected}.",
                    hint=f"Set {PREFIX}{name} to a {expected}, or leave it out for the default.",
                    id=WRONG_KIND,
                )
            )
        return errors


_UNSET = object()
