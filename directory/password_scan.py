"""Reading every password's life from the directory with one paged search: the half of
directory/password_life.py that needs python-ldap (the directory extra).

OpenLDAP: `pwdChangedTime` plus the `pwdMaxAge` of the policy that applies (the entry's
`pwdPolicySubentry`, else the default); `pwdReset`; `pwdAccountLockedTime`.
Active Directory: `msDS-UserPasswordExpiryTimeComputed` (which honours fine-grained password
policies), `pwdLastSet` 0 for "must change", and the computed lockout flag.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import ldap
from django.utils import timezone

from .accounts import accounts, config
from .ldap_accounts import ADMINISTRATOR_LOCK, _generalized_time, filetime, text
from .password_life import Life
from .sync import _group_members, _pages, _person_filter

# Active Directory: an account that is disabled, and the computed "locked out" flag.
UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
AD_NEVER = 0x7FFFFFFFFFFFFFFF
LANGUAGE_ATTRIBUTE = "preferredLanguage"


def scan(now: datetime.datetime | None = None) -> Iterator[list[Life]]:
    """Everyone in scope, a page at a time. Raises DirectoryUnavailable / DirectoryRefused."""
    conf = config()
    store = accounts()
    now = now or timezone.now()
    attributes = [
        conf.attr_username,
        conf.attr_first_name,
        conf.attr_last_name,
        conf.attr_email,
        LANGUAGE_ATTRIBUTE,
        *LIFE_ATTRIBUTES[conf.kind],
    ]
    with store.service("password_life") as conn:
        scope = (
            _group_members(conn, conf.scope_group) if conf.scope_group and not conf.is_ad else None
        )
        max_ages: dict[str, float] = {}
        for page in _pages(conn, conf, _person_filter(conf), attributes):
            lives = []
            for dn, attrs in page:
                if scope is not None and dn.lower() not in scope:
                    continue
                username = store.canonical_username(text(attrs, conf.attr_username))
                if not username:
                    continue
                life = (
                    _ad_life(attrs, username, conf)
                    if conf.is_ad
                    else _openldap_life(conn, attrs, username, conf, max_ages)
                )
                if life is not None:
                    lives.append(life)
            yield lives


LIFE_ATTRIBUTES = {
    "openldap": ["pwdChangedTime", "pwdReset", "pwdAccountLockedTime", "pwdPolicySubentry"],
    "active_directory": [
        "msDS-UserPasswordExpiryTimeComputed",
        "msDS-User-Account-Control-Computed",
        "pwdLastSet",
        "userAccountControl",
    ],
}


def _common(attrs: dict, username: str, conf) -> dict:
    return {
        "username": username,
        "first_name": text(attrs, conf.attr_first_name)[:150],
        "last_name": text(attrs, conf.attr_last_name)[:150],
        "email": text(attrs, conf.attr_email)[:254],
        "language": text(attrs, LANGUAGE_ATTRIBUTE)[:20],
    }


def _openldap_life(conn, attrs: dict, username: str, conf, max_ages: dict) -> Life | None:
    locked_at = text(attrs, "pwdAccountLockedTime")
    if locked_at == ADMINISTRATOR_LOCK:
        return None  # locked by an administrator for good: the account is disabled
    policy_dn = text(attrs, "pwdPolicySubentry") or conf.password_policy_dn
    if policy_dn.lower() not in max_ages:
        max_ages[policy_dn.lower()] = _max_age(conn, policy_dn)
    max_age = max_ages[policy_dn.lower()]
    changed = _generalized_time(text(attrs, "pwdChangedTime"))
    expires = changed + datetime.timedelta(seconds=max_age) if changed and max_age else None
    return Life(
        **_common(attrs, username, conf),
        expires_at=expires,
        must_change=text(attrs, "pwdReset").upper() == "TRUE",
        locked=bool(locked_at),
    )


def _max_age(conn, policy_dn: str) -> float:
    if not policy_dn:
        return 0.0
    try:
        found = conn.search_ext_s(
            policy_dn, ldap.SCOPE_BASE, "(objectClass=pwdPolicy)", attrlist=["pwdMaxAge"]
        )
    except ldap.NO_SUCH_OBJECT:
        return 0.0
    attrs = found[0][1] if found and found[0][0] else {}
    return float(text(attrs, "pwdMaxAge") or 0)


def _ad_life(attrs: dict, username: str, conf) -> Life | None:
    if int(text(attrs, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
        return None
    last_set = int(text(attrs, "pwdLastSet") or 0)
    computed = int(text(attrs, "msDS-UserPasswordExpiryTimeComputed") or 0)
    expires = filetime(computed) if 0 < computed < AD_NEVER and last_set else None
    return Life(
        **_common(attrs, username, conf),
        expires_at=expires,
        must_change=last_set == 0,
        locked=bool(int(text(attrs, "msDS-User-Account-Control-Computed") or 0) & UF_LOCKOUT),
    )
