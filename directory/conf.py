"""Where accounts live, read from the environment (the README's "Directory" table), and the
directory app's settings (`app_settings`, sspr_site/app_settings.py).

Kept free of python-ldap so that settings can read it on a machine without the directory
extra installed; only SSPR_DIRECTORY=openldap or active_directory needs that.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sspr_site.app_settings import AppSettings, Setting

NONE = "none"
OPENLDAP = "openldap"
ACTIVE_DIRECTORY = "active_directory"
KINDS = (NONE, OPENLDAP, ACTIVE_DIRECTORY)

DEFAULT_FILTERS = {OPENLDAP: "(uid=%(user)s)", ACTIVE_DIRECTORY: "(sAMAccountName=%(user)s)"}


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The typed name in a filter, as one character no filter holds (a value's parentheses are
# escaped, RFC 4515), so that the filter's own parentheses can be read.
_NAME = "\x00"


def mail_is_a_way_in(user_filter: str, attr_email: str) -> bool:
    """Whether a name typed as a mail finds its account through `user_filter`: the term
    `(mail=%(user)s)` is reached through "or" groups, or an "and" group whose other parts do
    not name the typed name (an object class, say). Under "not", or beside another term of
    the typed name in an "and" (the uid must be the mail too), it is no way in. A filter that
    cannot be read is none."""
    text = "".join(user_filter.split()).replace("%(user)s", _NAME)
    position = 0

    def node():
        nonlocal position
        if position >= len(text) or text[position] != "(":
            raise ValueError
        position += 1
        if position < len(text) and text[position] in "&|!":
            operator = text[position]
            position += 1
            children = []
            while position < len(text) and text[position] == "(":
                children.append(node())
            if position >= len(text) or text[position] != ")":
                raise ValueError
            position += 1
            return operator, children
        end = text.find(")", position)
        if end < 0:
            raise ValueError
        item, position = text[position:end], end + 1
        return "=", item

    def names(tree) -> bool:
        operator, part = tree
        return _NAME in part if operator == "=" else any(names(child) for child in part)

    def way_in(tree) -> bool:
        operator, part = tree
        if operator == "=":
            attribute, _, value = part.partition("=")
            return attribute.lower() == attr_email.lower() and value == _NAME
        if operator == "|":
            return any(way_in(child) for child in part)
        if operator == "&":
            return any(
                way_in(child) and not any(names(other) for other in part if other is not child)
                for child in part
            )
        return False  # "!"

    try:
        tree = node()
    except ValueError:
        return False
    return position == len(text) and way_in(tree)


@dataclass(frozen=True)
class DirectoryConfig:
    kind: str = NONE
    uri: str = ""
    bind_dn: str = ""
    bind_password: str = ""
    user_base: str = ""
    user_filter: str = ""
    group_base: str = ""
    scope_group: str = ""
    staff_group: str = ""
    superuser_group: str = ""
    start_tls: bool = True
    ca_file: str = ""
    timeout: float = 5.0
    attr_email: str = "mail"
    attr_office_phone: str = "telephoneNumber"
    attr_first_name: str = "givenName"
    attr_last_name: str = "sn"
    attr_username: str = "uid"
    password_policy_dn: str = ""
    retention_days: int = 30
    page_size: int = 500
    # docs/security.md §41: operations that could not reach the directory, in a row, before
    # every operation answers "unavailable" at once, and for how long.
    breaker_failures: int = 3
    breaker_seconds: float = 10.0
    # docs/security.md §42: a failed sign-in takes at least this long, whoever the name is.
    sign_in_floor: float = 0.3
    # An entry the deploy check may reset and unlock to prove the service account's rights.
    rights_check_user: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DirectoryConfig:
        kind = (env.get("SSPR_DIRECTORY") or NONE).strip().lower()
        if kind not in KINDS:
            raise ValueError(f"SSPR_DIRECTORY must be one of {', '.join(KINDS)}, not {kind!r}")
        return cls(
            kind=kind,
            uri=env.get("LDAP_URI", "").strip(),
            bind_dn=env.get("LDAP_BIND_DN", "").strip(),
            bind_password=env.get("LDAP_BIND_PASSWORD", ""),
            user_base=env.get("LDAP_USER_BASE", "").strip(),
            user_filter=(env.get("LDAP_USER_FILTER") or DEFAULT_FILTERS.get(kind, "")).strip(),
            group_base=env.get("LDAP_GROUP_BASE", "").strip(),
            scope_group=env.get("LDAP_SCOPE_GROUP", "").strip(),
            staff_group=env.get("LDAP_STAFF_GROUP", "").strip(),
            superuser_group=env.get("LDAP_SUPERUSER_GROUP", "").strip(),
            start_tls=_bool(env.get("LDAP_START_TLS"), True),
            ca_file=env.get("LDAP_CA_FILE", "").strip(),
            timeout=float(env.get("LDAP_TIMEOUT") or 5),
            attr_email=env.get("LDAP_ATTR_EMAIL") or "mail",
            attr_office_phone=env.get("LDAP_ATTR_OFFICE_PHONE") or "telephoneNumber",
            attr_first_name=env.get("LDAP_ATTR_FIRST_NAME") or "givenName",
            attr_last_name=env.get("LDAP_ATTR_LAST_NAME") or "sn",
            attr_username=env.get("LDAP_ATTR_USERNAME")
            or ("sAMAccountName" if kind == ACTIVE_DIRECTORY else "uid"),
            password_policy_dn=env.get("LDAP_PASSWORD_POLICY_DN", "").strip(),
            retention_days=int(env.get("LDAP_LEFT_RETENTION_DAYS") or 30),
            page_size=int(env.get("LDAP_PAGE_SIZE") or 500),
            breaker_failures=max(1, int(env.get("LDAP_BREAKER_FAILURES") or 3)),
            breaker_seconds=float(env.get("LDAP_BREAKER_SECONDS") or 10),
            sign_in_floor=float(env.get("LDAP_SIGN_IN_FLOOR_MS") or 300) / 1000,
            rights_check_user=env.get("LDAP_RIGHTS_CHECK_USER", "").strip(),
        )

    @property
    def enabled(self) -> bool:
        return self.kind != NONE

    @property
    def matches_mail(self) -> bool:
        """Whether the sign-in's filter also matches the mail attribute, as in
        "(|(uid=%(user)s)(mail=%(user)s))": people may then know their mail as their name, and
        the reset portal takes it too (docs/security.md §39). Not where the mail is only a
        further condition or is excluded (mail_is_a_way_in)."""
        return mail_is_a_way_in(self.user_filter, self.attr_email)

    @property
    def is_ad(self) -> bool:
        return self.kind == ACTIVE_DIRECTORY

    @property
    def encrypted(self) -> bool:
        """StartTLS, ldaps:// or a local socket: nothing readable on the wire."""
        scheme = urlsplit(self.uri).scheme.lower()
        return scheme in {"ldaps", "ldapi"} or self.start_tls

    @property
    def loopback(self) -> bool:
        parts = urlsplit(self.uri)
        if parts.scheme.lower() == "ldapi":
            return True
        host = (parts.hostname or "").lower()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def attr_entry_id(self) -> str:
        """The attribute that names an entry for as long as it lives, whatever it is renamed
        or moved to, and never names another: a name given again names a new entry."""
        return "objectGUID" if self.is_ad else "entryUUID"

    def attribute_names(self) -> list[str]:
        names = [self.attr_email, self.attr_office_phone, self.attr_first_name, self.attr_last_name]
        names += [self.attr_username, self.attr_entry_id]
        if self.is_ad:
            names += ["userAccountControl", "adminCount"]
        else:
            names.append("pwdAccountLockedTime")  # whether the account is turned off
        return names


app_settings = AppSettings(
    {
        # Where accounts live, parsed from SSPR_DIRECTORY and the LDAP_* variables by
        # sspr_site/settings.py (DirectoryConfig.from_env); read through accounts.config().
        "DIRECTORY_CONFIG": Setting(DirectoryConfig(), DirectoryConfig),
        # Failed sign-ins before a username is locked; kept below the directory's own
        # threshold (directory.lockout; docs/security.md §39-40).
        "LOCKOUT_FAILURES": Setting(5, int),
    }
)
