"""The site and a directory, for the directory tests (directory/): pointing the site at a
directory as its environment variables would, signing in with a directory password, and looking
at the directory as its administrator does (whether a password binds, an entry's attributes, an
entry locked out by failed binds). The throw-away slapd itself is in tests/support/slapd.py."""

from __future__ import annotations

from django.test import Client

from directory.conf import DirectoryConfig


def use_directory(settings, environment: dict[str, str]) -> DirectoryConfig:
    """Point the site at a directory, as these environment variables would."""
    import directory.backend  # noqa: F401  (connects the sign-in mirroring, as at start-up)
    from directory.accounts import reset_caches

    conf = DirectoryConfig.from_env(environment)
    settings.SSPR_DIRECTORY_CONFIG = conf
    settings.SSPR_DIRECTORY = conf.kind
    settings.AUTHENTICATION_BACKENDS = [  # as sspr_site/settings.py lists them
        "axes.backends.AxesStandaloneBackend",
        "accesspass.backends.AccessPassBackend",
        "directory.backend.DirectoryBackend",
        "directory.backend.PermissionsBackend",
    ]
    reset_caches()
    return conf


def binds(server, uid: str, password: str) -> bool:
    """Whether the directory accepts this person's password (a real bind)."""
    import ldap

    from directory.servers import PEOPLE

    conn = ldap.initialize(server.uri)
    try:
        conn.simple_bind_s(f"uid={uid},{PEOPLE}", password)
        return True
    except ldap.INVALID_CREDENTIALS:
        return False
    finally:
        conn.unbind_s()


def entry(server, uid: str, *attributes: str) -> dict:
    """An entry's attributes as the directory's administrator sees them."""
    import ldap

    from directory.servers import PEOPLE

    conn = server.connect()
    try:
        found = conn.search_s(f"uid={uid},{PEOPLE}", ldap.SCOPE_BASE, attrlist=list(attributes))
        return {k: [v.decode() for v in vs] for k, vs in found[0][1].items()}
    finally:
        conn.unbind_s()


def lock_out(server, uid: str) -> None:
    """Fail binds until the password policy locks the entry, and see the lock hold. The
    directory normally locks it at the MAX_FAILURES-th failure; a busy machine has once needed
    more, so the binds go on, a bounded number of times, until the entry shows the lock. Once a
    lock was seen and the person's own password still bound (not reproduced; perhaps a lock
    stamped later than the directory's clock, which it takes as not yet in effect), so the lock
    is then made again after a moment."""
    import time

    for _ in range(3):
        _fail_binds_until_locked(server, uid)
        own = next((p.password for p in server.people if p.uid == uid), None)
        if own is None or not binds(server, uid, own):
            return
        time.sleep(1)
    raise AssertionError(
        f"the lock on {uid} did not hold: {entry(server, uid, 'pwdAccountLockedTime')}"
    )


def _fail_binds_until_locked(server, uid: str) -> None:
    import time

    import ldap

    from directory.servers import MAX_FAILURES, PEOPLE

    for attempt in range(4 * MAX_FAILURES):
        if attempt >= MAX_FAILURES and entry(server, uid, "pwdAccountLockedTime"):
            return
        conn = ldap.initialize(server.uri)
        try:
            conn.simple_bind_s(f"uid={uid},{PEOPLE}", "not-the-password")
        except ldap.INVALID_CREDENTIALS:
            pass
        finally:
            conn.unbind_s()
        if attempt >= MAX_FAILURES:
            time.sleep(0.1)
    state = entry(server, uid, "pwdAccountLockedTime", "pwdFailureTime")
    raise AssertionError(f"the directory did not lock {uid} out: {state}")


def directory_sign_in(client: Client, username: str, password: str):
    return client.post("/ssprsetup/signin/", {"username": username, "password": password})


def turn_off(server, uid: str = "ada") -> None:
    """OpenLDAP's administrator lock: the lockout's own attribute, with a fixed value."""
    import ldap

    from directory.ldap_accounts import ADMINISTRATOR_LOCK, RELAX_RULES
    from directory.servers import PEOPLE

    conn = server.connect()
    try:
        conn.modify_ext_s(
            f"uid={uid},{PEOPLE}",
            [(ldap.MOD_REPLACE, "pwdAccountLockedTime", [ADMINISTRATOR_LOCK.encode()])],
            serverctrls=[RELAX_RULES],
        )
    finally:
        conn.unbind_s()


def cannot_be_asked_again(monkeypatch) -> None:
    """After a new password's answer was lost, the directory cannot be asked whether it took
    it: reading the entry's time of its last password change fails (every other read works)."""
    from directory import ldap_accounts

    asked = ldap_accounts.DirectoryAccounts.find

    def find_after_the_loss(self, conn, username, attributes=None, scoped=True):
        if attributes == [self.changed_attribute]:
            raise ldap_accounts.DirectoryUnavailable("gone again")
        return asked(self, conn, username, attributes, scoped)

    monkeypatch.setattr(ldap_accounts.DirectoryAccounts, "find", find_after_the_loss)
