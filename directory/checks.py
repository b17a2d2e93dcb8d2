"""System checks for the directory settings (the README's "Directory" section)."""

from __future__ import annotations

import importlib.util

from django.core.checks import Error, Tags, Warning, register

from .accounts import config
from .conf import app_settings


@register(Tags.security)
def directory_settings(app_configs, **kwargs):
    conf = config()
    if not conf.enabled:
        return []
    problems = []
    for name, value in (
        ("LDAP_URI", conf.uri),
        ("LDAP_BIND_DN", conf.bind_dn),
        ("LDAP_BIND_PASSWORD", conf.bind_password),
        ("LDAP_USER_BASE", conf.user_base),
    ):
        if not value:
            problems.append(
                Error(
                    f"SSPR_DIRECTORY={conf.kind} needs {name}.",
                    hint="See the README's Directory section.",
                    id="sspr.E010",
                )
            )
    if (
        importlib.util.find_spec("ldap") is None
        or importlib.util.find_spec("django_auth_ldap") is None
    ):
        problems.append(
            Error(
                "The directory extra is not installed.",
                hint="make install-directory (needs libldap2-dev and libsasl2-dev).",
                id="sspr.E011",
            )
        )
    # Passwords cross this connection: it is encrypted unless it never leaves the machine
    # (docs/security.md §33).
    if conf.uri and not conf.encrypted and not conf.loopback:
        problems.append(
            Error(
                "LDAP_URI is plain LDAP to another machine without StartTLS: passwords would "
                "cross the network readable.",
                hint="Use ldaps://, or keep LDAP_START_TLS on (the default).",
                id="sspr.E012",
            )
        )
    if conf.is_ad and conf.uri and not conf.encrypted:
        problems.append(
            Error(
                "Active Directory sets passwords only over an encrypted connection.",
                hint="Keep LDAP_START_TLS on, or use ldaps://.",
                id="sspr.E013",
            )
        )
    if conf.kind == "openldap" and not conf.password_policy_dn:
        # Without it the site cannot read the lockout threshold, so it cannot keep below it
        # (docs/security.md §40).
        problems.append(
            Warning(
                "LDAP_PASSWORD_POLICY_DN is not set: the site cannot read the directory's "
                "lockout threshold, so wrong passwords typed here could lock accounts in the "
                "directory, and its password rules are not listed.",
                hint="Set it to the password policy overlay's default policy entry "
                "(olcPPolicyDefault). Leave it empty only if the directory has no password "
                "policy.",
                id="sspr.W014",
            )
        )
    if conf.user_filter and "%(user)s" not in conf.user_filter:
        problems.append(
            Error(
                "LDAP_USER_FILTER must contain %(user)s where the username goes.",
                id="sspr.E014",
            )
        )
    return problems


@register(Tags.security, deploy=True)
def directory_encrypted_in_production(app_configs, **kwargs):
    conf = config()
    if conf.enabled and not conf.encrypted:
        return [
            Warning(
                "The directory connection is not encrypted (allowed only on this machine).",
                hint="Use StartTLS or ldaps:// in production.",
                id="sspr.W010",
            )
        ]
    return []


RIGHTS = {
    "bind": "bind as the service account",
    "read": "find the entry in scope and read it",
    "reset": "set a password with the password policy's control",
    "unlock": "clear the lockout",
}


@register(Tags.security, deploy=True)
def directory_lockout_and_rights(app_configs, **kwargs):
    """Asks the directory itself (so only with --deploy): its lockout threshold against the
    site's limit (docs/security.md §40), and the service account's rights proven on the entry
    LDAP_RIGHTS_CHECK_USER names (§43), so a missing right is found before a person needs it."""
    conf = config()
    if not conf.enabled:
        return []
    from .accounts import DirectoryRefused, DirectoryUnavailable, accounts

    store = accounts()
    problems = []
    try:
        threshold = store.lockout_threshold()
    except (DirectoryUnavailable, DirectoryRefused):
        return [
            Warning(
                "The directory could not be reached to read its lockout threshold.",
                hint="Run the check again when the directory answers.",
                id="sspr.W011",
            )
        ]
    if threshold and threshold <= app_settings.LOCKOUT_FAILURES:
        problems.append(
            Warning(
                f"SSPR_LOCKOUT_FAILURES is {app_settings.LOCKOUT_FAILURES}, not below the "
                f"directory's lockout threshold of {threshold}: the site uses "
                f"{max(1, threshold - 1)}, so that it is never the way an account gets locked.",
                hint=f"Set SSPR_LOCKOUT_FAILURES to {max(1, threshold - 1)} or less.",
                id="sspr.W012",
            )
        )
    if not conf.rights_check_user:
        problems.append(
            Warning(
                "LDAP_RIGHTS_CHECK_USER is not set, so the service account's rights are not "
                "proven before someone needs them.",
                hint="Name an entry in scope set aside for this check (its password is reset "
                "to a random one at every check).",
                id="sspr.W013",
            )
        )
        return problems
    for right in store.prove_rights(conf.rights_check_user):
        problems.append(
            Error(
                f"The service account cannot {RIGHTS[right]} on {conf.rights_check_user}.",
                hint="Grant the rights the README's Directory section lists.",
                id="sspr.E015",
            )
        )
    return problems
