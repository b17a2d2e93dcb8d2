"""Active Directory as the account store, against Samba's AD domain controller provisioned for
the run: unicodePwd reset with the domain's rules (0000052D), lockoutTime unlock, adminCount,
"must change" and an expired password (data 532), nested scope, sync and a person's own
change. The service account holds only the rights the README asks for (Reset Password, write
lockoutTime and pwdLastSet)."""

from __future__ import annotations

import itertools
import re

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from directory.models import DirectoryAccount
from directory.servers import AD_SCOPE_GROUP, AD_STAFF_GROUP, AdPerson, SambaDC
from directory.sync import sync_directory
from methods.models import AuthenticationEmail, OfficePhone
from tests.support.directory import directory_sign_in, use_directory
from tests.support.resets import shows_done_page, start_reset

pytestmark = [pytest.mark.directory, pytest.mark.samba, pytest.mark.django_db]

NEW_PASSWORD = "Lighthouse-Copper-Kettle-2027!"
numbers = itertools.count(1)


@pytest.fixture(scope="module")
def dc():
    with SambaDC() as server:
        yield server


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


@pytest.fixture
def ad(settings, dc, db):
    conf = use_directory(settings, dc.environment())
    yield conf
    from directory.accounts import reset_caches

    reset_caches()


@pytest.fixture
def person(dc) -> AdPerson:
    """A new person in scope for each test (the domain is shared by the module)."""
    n = next(numbers)
    someone = AdPerson(
        f"user{n}",
        f"Start-Pass-{n}-2026!",
        "Test",
        f"Person{n}",
        f"user{n}@sspr.test",
        "+44 20 7946 0303",
    )
    conn = dc.connect()
    dc.add_person(conn, someone)
    conn.unbind_s()
    return someone


def binds(dc, person: AdPerson, password: str) -> bool:
    try:
        dc.connect(person.dn, password).unbind_s()
        return True
    except ldap.INVALID_CREDENTIALS:
        return False


def attribute(dc, person: AdPerson, name: str) -> str:
    conn = dc.connect()
    try:
        found = conn.search_s(person.dn, ldap.SCOPE_BASE, attrlist=[name])
        return found[0][1].get(name, [b""])[0].decode()
    finally:
        conn.unbind_s()


def administrator_sets(dc, person: AdPerson, name: str, value: bytes) -> None:
    conn = dc.connect()
    conn.modify_s(person.dn, [(ldap.MOD_REPLACE, name, [value])])
    conn.unbind_s()


def registered_and_proven(client: Client, person: AdPerson, action="reset"):
    assert directory_sign_in(Client(), person.sam, person.password).status_code == 302
    user = get_user_model().objects.get(username=person.sam)
    AuthenticationEmail.objects.create(
        user=user, email=f"{person.sam}.home@example.net", verified_at=timezone.now()
    )
    assert start_reset(client, person.sam, action=action).status_code == 302
    client.post("/passwordreset/email/", {"email": f"{person.sam}.home@example.net"})
    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    client.post("/passwordreset/email/code/", {"code": code})
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    return user


def set_new(client: Client, password: str):
    return client.post(
        "/passwordreset/finish/", {"new_password1": password, "new_password2": password}
    )


def test_sign_in_mirrors_the_domain_account(ad, person):
    assert directory_sign_in(Client(), person.sam, person.password).status_code == 302
    user = get_user_model().objects.get(username=person.sam)
    assert (user.first_name, user.email) == ("Test", person.mail)
    assert str(OfficePhone.objects.get(user=user).number) == "+442079460303"
    assert not user.has_usable_password() and not user.is_staff
    assert directory_sign_in(Client(), person.sam, "Wrong-Pass-2026!").status_code == 200


def test_reset_replaces_unicodepwd_and_the_domains_rules_refuse_with_a_reason(
    client, ad, dc, person, settings
):
    settings.AUTH_PASSWORD_VALIDATORS = []  # let the domain be the one that refuses
    registered_and_proven(client, person)
    page = client.get("/passwordreset/finish/").content.decode()
    assert "at least 10 characters" in page and "three of: capital letters" in page
    # Too short (0000052D), then not complex enough: explained, nothing changed.
    text = set_new(client, "Short-1!").content.decode()
    assert "shorter than its rules allow" in text
    text = set_new(client, "onlysmallletters").content.decode()
    assert "three of capital letters" in text
    assert binds(dc, person, person.password)
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    # The same attempt then succeeds.
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert binds(dc, person, NEW_PASSWORD) and not binds(dc, person, person.password)


def test_reset_clears_must_change_and_the_lockout(client, ad, dc, person):
    registered_and_proven(client, person)
    administrator_sets(dc, person, "pwdLastSet", b"0")  # "must change at next sign-in"
    for _ in range(4):
        binds(dc, person, "Wrong-Pass-2026!")
    assert int(attribute(dc, person, "lockoutTime") or 0) > 0
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert attribute(dc, person, "lockoutTime") == "0"
    assert int(attribute(dc, person, "pwdLastSet")) > 0  # not left "must change"
    assert binds(dc, person, NEW_PASSWORD)


def test_a_locked_person_unlocks_keeping_their_password(client, ad, dc, person):
    registered_and_proven(client, person, action="unlock")
    for _ in range(4):
        binds(dc, person, "Wrong-Pass-2026!")
    assert not binds(dc, person, person.password)  # locked
    page = client.get("/passwordreset/finish/").content.decode()
    assert "Your account is locked at the moment." in page
    assert shows_done_page(client.post("/passwordreset/finish/"), "unlock")
    assert attribute(dc, person, "lockoutTime") == "0"
    assert binds(dc, person, person.password)


def test_a_disabled_domain_account_is_neither_reset_nor_unlocked(client, ad, dc, person):
    """Disabled by the domain's administrator after the person proved who they are: the last
    page says the account is turned off and offers nothing; the password stays, and so does
    the flag (docs/security.md §70)."""
    registered_and_proven(client, person)
    control = int(attribute(dc, person, "userAccountControl"))
    administrator_sets(dc, person, "userAccountControl", str(control | 2).encode())
    page = client.get("/passwordreset/finish/").content.decode()
    assert "This account is turned off" in page and "Set the new password" not in page
    sent = set_new(client, NEW_PASSWORD)
    assert sent.status_code == 409
    assert int(attribute(dc, person, "userAccountControl")) & 2
    administrator_sets(dc, person, "userAccountControl", str(control).encode())
    assert binds(dc, person, person.password) and not binds(dc, person, NEW_PASSWORD)
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()


def test_admincount_makes_a_privileged_account(ad, dc, person):
    administrator_sets(dc, person, "adminCount", b"1")
    assert directory_sign_in(Client(), person.sam, person.password).status_code == 302
    assert get_user_model().objects.get(username=person.sam).is_staff


@pytest.mark.parametrize("made_by", ["adminCount", "a group in the staff group"])
def test_an_account_made_an_administrators_since_it_was_read_is_not_reset_with_one_method(
    client, ad, dc, person, made_by
):
    """The domain makes the person an administrator (a protected account, or a member of a
    group nested in the staff group) after the mirror read them: the reset proven with one
    method changes nothing, says why, and the mirror now knows (passwordreset.flows.
    reset_finish asks the domain); the next attempt is held to the administrators' rule."""
    user = registered_and_proven(client, person)
    assert not user.is_staff
    if made_by == "adminCount":
        administrator_sets(dc, person, "adminCount", b"1")
    else:
        conn = dc.connect()
        group = f"CN=admins-{person.sam},OU=Groups,DC=sspr,DC=test"
        conn.add_s(group, [("objectClass", [b"group"]), ("member", [person.dn.encode()])])
        conn.modify_s(AD_STAFF_GROUP, [(ldap.MOD_ADD, "member", [group.encode()])])
        conn.unbind_s()
    page = client.get(set_new(client, "Chosen-After-Promotion-2027!")["Location"])
    assert "this account is now an administrator" in page.content.decode()
    assert binds(dc, person, person.password)
    user.refresh_from_db()
    assert user.is_staff


def test_change_as_the_person_applies_the_domains_history(ad, dc, person):
    client = Client()
    assert directory_sign_in(client, person.sam, person.password).status_code == 302
    data = {
        "current_password": person.password,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    assert client.post("/ssprsetup/password/", data)["Location"] == "/ssprsetup/"
    assert binds(dc, person, NEW_PASSWORD)
    # A password of the person's from before, one the site's own rules take, is in the
    # domain's history.
    later = "Marble-harbour-lantern-2028"
    changed = {"current_password": NEW_PASSWORD, "new_password1": later, "new_password2": later}
    assert client.post("/ssprsetup/password/", changed)["Location"] == "/ssprsetup/"
    again = {
        "current_password": later,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    text = client.post("/ssprsetup/password/", again).content.decode()
    assert "The directory refused" in text
    assert binds(dc, person, later)


def test_sync_reads_the_nested_scope_and_the_staff_group(ad, dc, person):
    call_command("sync_directory", stdout=None)
    users = get_user_model().objects
    assert users.filter(username=person.sam, is_active=True).exists()
    assert users.get(username="dora").is_staff and not users.get(username="rita").is_staff
    assert not users.filter(username="sspr-service").exists()  # not in the scope group
    # A person in a group nested in the scope group is in scope too.
    conn = dc.connect()
    nested = "CN=nested-team,OU=Groups,DC=sspr,DC=test"
    inner = AdPerson("nina", "Nina-Domain-2026!", "Nina", "Nested", groups=())
    dc.add_person(conn, inner)
    conn.add_s(nested, [("objectClass", [b"group"]), ("member", [inner.dn.encode()])])
    conn.modify_s(AD_SCOPE_GROUP, [(ldap.MOD_ADD, "member", [nested.encode()])])
    conn.unbind_s()
    call_command("sync_directory")
    assert users.filter(username="nina", is_active=True).exists()
    assert not users.get(username="nina").is_staff
    # A group nested in the staff group makes its members staff, at sign-in and in the sync
    # alike: the sync does not take back what sign-in gave.
    conn = dc.connect()
    admins = "CN=nested-admins,OU=Groups,DC=sspr,DC=test"
    conn.add_s(admins, [("objectClass", [b"group"]), ("member", [inner.dn.encode()])])
    conn.modify_s(AD_STAFF_GROUP, [(ldap.MOD_ADD, "member", [admins.encode()])])
    conn.unbind_s()
    assert directory_sign_in(Client(), "nina", inner.password).status_code == 302
    assert users.get(username="nina").is_staff
    call_command("sync_directory")
    assert users.get(username="nina").is_staff


def test_a_person_whose_cn_holds_a_dotted_capital_i_signs_in(ad, dc):
    """The domain's DN is bound with as the domain wrote it (test_unicode_names)."""
    n = next(numbers)
    someone = AdPerson(f"ibrahim{n}", f"Start-Pass-{n}-2026!", "İbrahim", f"Yılmaz{n}", "")
    conn = dc.connect()
    dc.add_person(conn, someone)
    conn.unbind_s()
    assert binds(dc, someone, someone.password)
    assert directory_sign_in(Client(), someone.sam, someone.password).status_code == 302


def test_a_sign_in_leaves_the_sync_nothing_to_write(ad, dc, person):
    """Sign-in links the person under the DN as the domain wrote it, as the sync does: before,
    it stored the DN lowered, and each sync after a sign-in wrote the link again."""
    sync_directory()
    assert sync_directory().updated == 0
    assert directory_sign_in(Client(), person.sam, person.password).status_code == 302
    user = get_user_model().objects.get(username=person.sam)
    assert DirectoryAccount.objects.get(user=user).dn == person.dn
    assert sync_directory().updated == 0


def test_a_name_given_again_in_the_domain_carries_nothing_of_its_previous_holder(ad, dc, person):
    """By the entry's objectGUID (test_leavers_purge for OpenLDAP's entryUUID): the same
    sAMAccountName at the same DN, a new account, is a new person."""
    sync_directory()
    user = get_user_model().objects.get(username=person.sam)
    AuthenticationEmail.objects.create(
        user=user, email="old.home@example.net", verified_at=timezone.now()
    )
    first_id = DirectoryAccount.objects.get(user=user).entry_id
    assert len(first_id) == 32  # sixteen bytes, in hex
    conn = dc.connect()
    conn.delete_s(person.dn)
    dc.add_person(conn, person)
    conn.unbind_s()
    sync_directory()
    assert DirectoryAccount.objects.get(user=user).entry_id not in ("", first_id)
    assert not AuthenticationEmail.objects.filter(user=user).exists()
    sync_directory()  # nothing further
    assert DirectoryAccount.objects.get(user=user).entry_id != first_id


def test_a_person_renamed_in_the_domain_keeps_their_methods_and_their_old_name_is_new(
    ad, dc, person
):
    """By objectGUID (test_renamed for OpenLDAP's entryUUID): the person's sAMAccountName
    changes and the old one is given to a newcomer, who signs in first. The person's entry is
    looked up by its objectGUID: their row takes the new name, with their methods; the
    newcomer's is a new row with nothing of theirs."""
    sync_directory()
    User = get_user_model()
    user = User.objects.get(username=person.sam)
    AuthenticationEmail.objects.create(
        user=user, email="renamed.home@example.net", verified_at=timezone.now()
    )
    new_name = f"{person.sam}.renamed"
    administrator_sets(dc, person, "sAMAccountName", new_name.encode())
    # Renamed whole, as an administrator renames an account: its sign-in address too.
    administrator_sets(dc, person, "userPrincipalName", f"{new_name}@sspr.test".encode())
    newcomer = AdPerson(person.sam, "Newcomer-Pass-7-2026!", "Nova", f"New{person.surname}")
    conn = dc.connect()
    dc.add_person(conn, newcomer)
    conn.unbind_s()
    assert directory_sign_in(Client(), person.sam, newcomer.password).status_code == 302
    assert User.objects.get(pk=user.pk).username == new_name
    assert AuthenticationEmail.objects.filter(user=user).exists()
    nova = User.objects.get(username=person.sam)
    assert nova.pk != user.pk and not AuthenticationEmail.objects.filter(user=nova).exists()
    assert directory_sign_in(Client(), new_name, person.password).status_code == 302
    assert sync_directory().renamed == 0
    assert User.objects.get(pk=user.pk).username == new_name
    assert AuthenticationEmail.objects.filter(user=user).exists()
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).exists()


# --- Under attack (docs/security.md §39-43) ------------------------------------------------------


def bad_password_count(dc, person: AdPerson) -> int:
    return int(attribute(dc, person, "badPwdCount") or 0)


def test_the_sites_limit_stays_below_the_domains_threshold(ad):
    from django.core.cache import cache

    from directory.lockout import directory_threshold, failure_limit

    cache.clear()
    assert directory_threshold() == 3
    assert failure_limit() == 2


@pytest.mark.parametrize("page", ["/ssprsetup/signin/", "/admin/login/"])
def test_wrong_sign_ins_never_lock_the_domain_account(ad, dc, person, page):
    for name in [person.sam, person.sam.upper(), person.sam.title()] * 3:
        response = Client().post(page, {"username": name, "password": "Wrong-Pass-2026!"})
        assert response.status_code in (200, 429)
    assert int(attribute(dc, person, "lockoutTime") or 0) == 0
    assert bad_password_count(dc, person) < 3
    assert binds(dc, person, person.password)
    # Every spelling is the one name the site holds locked.
    assert directory_sign_in(Client(), person.sam.upper(), person.password).status_code == 429


def test_failures_made_elsewhere_are_counted_before_the_site_tries(ad, dc, person):
    for _ in range(2):
        assert not binds(dc, person, "Typed-At-A-Workstation-1!")
    assert directory_sign_in(Client(), person.sam, "Wrong-Pass-2026!").status_code == 200
    assert bad_password_count(dc, person) == 2
    assert int(attribute(dc, person, "lockoutTime") or 0) == 0


def test_a_fine_grained_policy_that_applies_is_the_one_counted(ad, dc, person):
    """A password settings object locking after 2 failures: after one failure elsewhere the
    site tries no more."""
    from django.core.cache import cache

    from directory.servers import AD_BASE

    name = f"CN=strict-{person.sam},CN=Password Settings Container,CN=System,{AD_BASE}"
    conn = dc.connect()
    try:
        conn.add_s(
            name,
            [
                ("objectClass", [b"msDS-PasswordSettings"]),
                ("msDS-PasswordSettingsPrecedence", [b"1"]),
                ("msDS-PasswordReversibleEncryptionEnabled", [b"FALSE"]),
                ("msDS-PasswordHistoryLength", [b"3"]),
                ("msDS-PasswordComplexityEnabled", [b"TRUE"]),
                ("msDS-MinimumPasswordLength", [b"10"]),
                ("msDS-MinimumPasswordAge", [b"0"]),
                ("msDS-MaximumPasswordAge", [b"-9223372036854775808"]),
                ("msDS-LockoutThreshold", [b"2"]),
                ("msDS-LockoutObservationWindow", [b"-18000000000"]),
                ("msDS-LockoutDuration", [b"-18000000000"]),
                ("msDS-PSOAppliesTo", [person.dn.encode()]),
            ],
        )
    finally:
        conn.unbind_s()
    cache.clear()
    from directory.accounts import accounts

    with accounts().password_try(person.sam) as allowed:
        assert allowed
    assert not binds(dc, person, "Typed-At-A-Workstation-1!")
    with accounts().password_try(person.sam) as allowed:
        assert not allowed
    assert directory_sign_in(Client(), person.sam, "Wrong-Pass-2026!").status_code == 200
    assert int(attribute(dc, person, "lockoutTime") or 0) == 0
    assert binds(dc, person, person.password)


def test_the_deploy_check_proves_the_service_accounts_rights_in_the_domain(
    settings, dc, person, db
):
    from .test_under_attack import deploy_check

    report = deploy_check(settings, {**dc.environment(), "LDAP_RIGHTS_CHECK_USER": person.sam})
    assert "sspr.W012" in report and "uses 2" in report
    assert "sspr.E015" not in report
    assert not binds(dc, person, person.password)  # a random password was set


def test_sign_in_takes_the_same_time_for_every_kind_of_name(settings, dc, person, db):
    """Unknown, wrong password, out of scope, locked and disabled (docs/security.md §42)."""
    import statistics
    import time

    from directory.servers import AD_PEOPLE

    use_directory(settings, {**dc.environment(), "LDAP_SIGN_IN_FLOOR_MS": "300"})
    settings.AXES_FAILURE_LIMIT = 10**9
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 10**9
    conn = dc.connect()
    outsider = AdPerson(f"out{person.sam}", "Outsider-Pass-2026!", "Out", person.sam, groups=())
    dc.add_person(conn, outsider)
    disabled = AdPerson(f"off{person.sam}", "Disabled-Pass-2026!", "Off", person.sam)
    dc.add_person(conn, disabled)
    conn.modify_s(disabled.dn, [(ldap.MOD_REPLACE, "userAccountControl", [b"514"])])
    locked = AdPerson(f"lock{person.sam}", "Locked-Pass-2026!", "Lock", person.sam)
    dc.add_person(conn, locked)
    conn.unbind_s()
    for _ in range(4):
        binds(dc, locked, "Wrong-Pass-2026!")
    assert AD_PEOPLE in locked.dn
    kinds = {
        "unknown": ("nobody-here", "Wrong-Pass-2026!"),
        "wrong password": (person.sam, "Wrong-Pass-2026!"),
        "out of scope": (outsider.sam, outsider.password),
        "locked": (locked.sam, locked.password),
        "disabled": (disabled.sam, disabled.password),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(12):
        for kind, (username, password) in kinds.items():
            started = time.perf_counter()
            response = directory_sign_in(Client(), username, password)
            times[kind].append(time.perf_counter() - started)
            assert response.status_code == 200, kind
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    ratio = max(medians.values()) / min(medians.values())
    assert ratio <= 1.10, medians


def test_a_hung_domain_controller_costs_one_timeout_and_counts_nowhere(settings, dc, db):
    from axes.models import AccessAttempt

    from .test_under_attack import Tarpit, timed

    tarpit = Tarpit()
    try:
        use_directory(
            settings,
            {
                **dc.environment(),
                "LDAP_URI": f"ldap://127.0.0.1:{tarpit.port}",
                "LDAP_TIMEOUT": "1",
            },
        )
        for _ in range(3):
            response, seconds = timed(lambda: directory_sign_in(Client(), "rita", "Whatever-1!"))
            assert response.status_code == 503 and seconds < 1.9, seconds
        response, seconds = timed(lambda: directory_sign_in(Client(), "rita", "Whatever-1!"))
        assert response.status_code == 503 and seconds < 0.5, seconds
        assert not AccessAttempt.objects.exists()
    finally:
        tarpit.close()
        from directory.accounts import reset_caches

        reset_caches()


def test_an_unlock_the_domain_refuses_is_explained_and_audited(client, ad, dc, person):
    """The service account is denied writing lockoutTime on this one person."""
    registered_and_proven(client, person, action="unlock")
    for _ in range(4):
        binds(dc, person, "Wrong-Pass-2026!")
    from directory.servers import AD_SERVICE, LOCKOUT_TIME

    sid = dc.sid(AD_SERVICE)
    dc._run(
        "dsacl",
        "set",
        "-H",
        str(dc.folder / "private" / "sam.ldb"),
        "-s",
        str(dc.folder / "etc" / "smb.conf"),
        f"--objectdn={person.dn}",
        f"--sddl=(OD;;WP;{LOCKOUT_TIME};;{sid})",
    )
    response = client.post("/passwordreset/finish/")
    assert response.status_code == 503
    assert "refused to make this change, so nothing was changed" in response.content.decode()
    refused = Event.objects.get(kind=EventKind.DIRECTORY_REFUSED)
    assert refused.details["operation"] == "unlock"
    assert not Event.objects.filter(kind=EventKind.ACCOUNT_UNLOCKED).exists()
    assert int(attribute(dc, person, "lockoutTime") or 0) > 0


# --- An expired or must-change password, expiry and the helpdesk's list (password life) ------


def pso_for(dc, person: AdPerson, max_age_seconds: int) -> str:
    """A fine-grained password policy for one person, its passwords expiring after
    `max_age_seconds` (lockout as the domain's)."""
    from directory.servers import AD_BASE

    name = f"CN=expiry-{person.sam},CN=Password Settings Container,CN=System,{AD_BASE}"
    conn = dc.connect()
    try:
        conn.add_s(
            name,
            [
                ("objectClass", [b"msDS-PasswordSettings"]),
                ("msDS-PasswordSettingsPrecedence", [b"2"]),
                ("msDS-PasswordReversibleEncryptionEnabled", [b"FALSE"]),
                ("msDS-PasswordHistoryLength", [b"3"]),
                ("msDS-PasswordComplexityEnabled", [b"TRUE"]),
                ("msDS-MinimumPasswordLength", [b"10"]),
                ("msDS-MinimumPasswordAge", [b"0"]),
                ("msDS-MaximumPasswordAge", [str(-max_age_seconds * 10**7).encode()]),
                ("msDS-LockoutThreshold", [b"3"]),
                ("msDS-LockoutObservationWindow", [b"-18000000000"]),
                ("msDS-LockoutDuration", [b"-18000000000"]),
                ("msDS-PSOAppliesTo", [person.dn.encode()]),
            ],
        )
    finally:
        conn.unbind_s()
    return name


def change_after_sign_in(person: AdPerson, new: str = NEW_PASSWORD):
    client = Client()
    response = directory_sign_in(client, person.sam, person.password)
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/password/"
    assert "_auth_user_id" not in client.session
    data = {"current_password": person.password, "new_password1": new, "new_password2": new}
    return client, client.post("/ssprsetup/password/", data)


def test_a_must_change_password_is_changed_from_the_sign_in(ad, dc, person):
    administrator_sets(dc, person, "pwdLastSet", b"0")  # "must change at next logon"
    assert directory_sign_in(Client(), person.sam, "Wrong-Pass-2026!").status_code == 200
    _client, response = change_after_sign_in(person)
    assert response["Location"] == "/ssprsetup/signin/"
    assert binds(dc, person, NEW_PASSWORD)
    assert int(attribute(dc, person, "pwdLastSet")) > 0  # no longer "must change"
    assert directory_sign_in(Client(), person.sam, NEW_PASSWORD)["Location"] == "/ssprsetup/"


def test_an_expired_password_is_changed_from_the_sign_in(ad, dc, person):
    """A password past its maximum age: the domain refuses the bind with data 532; the person
    who types it right is led to change it, and the new one binds and is not expired."""
    pso_for(dc, person, 2 * 86400)  # the domain counts a maximum age of a day or less as none
    dc.backdate_password(person.dn, days=3)
    with pytest.raises(ldap.INVALID_CREDENTIALS, match="data 532"):
        dc.connect(person.dn, person.password)
    # A wrong password of an expired account reads as any wrong password.
    wrong = directory_sign_in(Client(), person.sam, "Wrong-Pass-2026!")
    assert wrong.status_code == 200 and "expired" not in wrong.content.decode()
    _client, response = change_after_sign_in(person)
    assert response["Location"] == "/ssprsetup/signin/"
    assert binds(dc, person, NEW_PASSWORD) and not binds(dc, person, person.password)
    expiry = int(attribute(dc, person, "msDS-UserPasswordExpiryTimeComputed"))
    now = int((timezone.now().timestamp() + 11644473600) * 10**7)  # in the domain's ticks
    assert expiry > now + 86400 * 10**7  # two days' life from now: no longer expired
    assert directory_sign_in(Client(), person.sam, NEW_PASSWORD)["Location"] == "/ssprsetup/"


def test_the_expiry_under_a_fine_grained_policy_is_read_for_the_list(ad, dc, person):
    """msDS-UserPasswordExpiryTimeComputed honours the person's fine-grained policy: ten
    days' life, set today, is ten days left (the helpdesk's list and the reminders)."""
    pso_for(dc, person, 10 * 86400)
    from directory.password_life import watched

    (life,) = [life for life in watched(refresh=True).people if life.username == person.sam]
    assert life.days_left(timezone.now()) == 10
    assert not life.must_change and not life.locked
    administrator_sets(dc, person, "pwdLastSet", b"0")
    (life,) = [life for life in watched(refresh=True).people if life.username == person.sam]
    assert life.must_change
