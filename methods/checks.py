"""System checks: a bad phone backend setting is reported at start-up, not at the first send."""

from __future__ import annotations

from django.core.checks import Error, register
from django.utils.module_loading import import_string

from .backends import backend_path
from .backends.base import BasePhoneBackend


@register()
def phone_backend_setting(app_configs, **kwargs):
    path = backend_path()
    try:
        backend = import_string(path)
    except ImportError:
        return [
            Error(
                f"SSPR_PHONE_BACKEND names {path!r}, which cannot be imported.",
                hint="Use console, file, locmem, twilio or a dotted path to a backend class.",
                id="methods.E001",
            )
        ]
    if not (isinstance(backend, type) and issubclass(backend, BasePhoneBackend)):
        return [
            Error(
                f"{path!r} is not a phone backend.",
                hint="A backend subclasses methods.backends.base.BasePhoneBackend.",
                id="methods.E002",
            )
        ]
    return []


@register()
def method_names_are_free(app_configs, **kwargs):
    """A method's SQL names (`flag_name`, `sspr_<key>`, and its `many_fields`) are annotations
    on the user model: one that equals a field or a relation of that model (a related_name
    such as "sspr_recovery_codes") would break every listing. Relations to the user model from
    a method take related_name="+" or a name outside the `sspr_<key>` prefix (methods/base.py)."""
    from django.contrib.auth import get_user_model

    from .registry import REGISTRY

    taken = {field.name for field in get_user_model()._meta.get_fields(include_hidden=True)}
    errors = []
    seen: dict[str, str] = {}
    for method in REGISTRY.values():
        for name in dict.fromkeys([method.flag_name, *method.many_fields]):
            if name in taken:
                errors.append(
                    Error(
                        f"The method {method.key!r} annotates {name!r}, which is already a "
                        "field or relation of the user model.",
                        hint="Give the relation related_name='+' or another name.",
                        id="methods.E003",
                    )
                )
            elif name in seen and seen[name] != method.key:
                errors.append(
                    Error(
                        f"The methods {seen[name]!r} and {method.key!r} both annotate {name!r}.",
                        id="methods.E004",
                    )
                )
            seen.setdefault(name, method.key)
    return errors
