"""OpenLDAP with the password policy overlay, as the account store: sign-in, mirroring, reset,
every policy refusal, unlock, a lost connection and a directory that is down."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from directory.models import DirectoryAccount
from directory.servers import DEMO_PEOPLE, STRICT_POLICY_DN, Person
from methods.models import AuthenticationEmail, OfficePhone
from tests.support.directory import (
    binds,
    cannot_be_asked_again,
    directory_sign_in,
    entry,
    lock_out,
    turn_off,
)
from tests.support.resets import shows_done_page, shows_finish_page, start_reset

pytestmark = [pytest.mark.directory, pytest.mark.django_db]

ADA_PASSWORD = "Ada-Directory-2026"
NEW_PASSWORD = "Lighthouse-copper-kettle-2027"
LATER_PASSWORD = "Marble-harbour-lantern-2028"


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def registered(username="ada", address="ada.home@example.net"):
    """A mirrored person with a verified alternate email (the policy's default: one method)."""
    user = get_user_model().objects.get(username=username)
    AuthenticationEmail.objects.create(user=user, email=address, verified_at=timezone.now())
    return user


def prove_with_email(
    client: Client, username="ada", address="ada.home@example.net", action: str = "reset"
):
    response = start_reset(client, username, action=action)
    assert response.status_code == 302, response.content.decode()
    client.post("/passwordreset/email/", {"email": address})
    code = mail.outbox[-1].body
    import re

    code = re.findall(r"\b(\d{6})\b", code)[-1]
    response = client.post("/passwordreset/email/code/", {"code": code})
    assert shows_finish_page(response)


def post_change(client: Client, current: str = ADA_PASSWORD, new: str = NEW_PASSWORD):
    """The change page's form, sent as the signed-in person."""
    return client.post(
        "/ssprsetup/password/",
        {"current_password": current, "new_password1": new, "new_password2": new},
    )


def set_new(client: Client, password: str):
    return client.post(
        "/passwordreset/finish/", {"new_password1": password, "new_password2": password}
    )


# --- Sign-in and mirroring --------------------------------------------------------------------


def test_sign_in_with_the_directory_password_mirrors_the_person(client, directory):
    response = directory_sign_in(client, "ada", ADA_PASSWORD)
    assert response.status_code == 302
    ada = get_user_model().objects.get(username="ada")
    assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.org")
    assert not ada.has_usable_password()  # no local password to guess or leak
    assert str(OfficePhone.objects.get(user=ada).number) == "+442079460101"
    assert DirectoryAccount.objects.get(user=ada).dn == "uid=ada,ou=people,dc=example,dc=org"
    assert not ada.is_staff


def test_the_directory_fields_are_refreshed_at_each_sign_in(client, slapd, directory):
    directory_sign_in(client, "ada", ADA_PASSWORD)
    conn = slapd.connect()
    import ldap

    dn = "uid=ada,ou=people,dc=example,dc=org"
    conn.modify_s(
        dn,
        [
            (ldap.MOD_REPLACE, "mail", [b"ada.lovelace@example.org"]),
            (ldap.MOD_REPLACE, "sn", [b"King"]),
            (ldap.MOD_DELETE, "telephoneNumber", None),
        ],
    )
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    ada = get_user_model().objects.get(username="ada")
    assert (ada.email, ada.last_name) == ("ada.lovelace@example.org", "King")
    assert not OfficePhone.objects.filter(user=ada).exists()


def test_the_staff_group_makes_a_privileged_account(client, directory):
    assert directory_sign_in(client, "ken", "Ken-Directory-2026").status_code == 302
    assert get_user_model().objects.get(username="ken").is_staff


def test_wrong_password_unknown_locked_and_out_of_scope_read_the_same(slapd, directory):
    lock_out(slapd, "grace")
    pages = {}
    for name, username, password in [
        ("wrong", "ada", "not-her-password"),
        ("unknown", "nobody", "whatever-it-is-1"),
        ("locked", "grace", "Grace-Directory-2026"),
        ("out of scope", "outsider", "Outsider-Directory-2026"),
    ]:
        response = directory_sign_in(Client(), username, password)
        assert response.status_code == 200, name
        text = response.content.decode()
        summary = text[text.index('class="error-summary"') :]
        pages[name] = summary[: summary.index("</div>")]
    assert len(set(pages.values())) == 1
    assert not get_user_model().objects.filter(username__in=["grace", "outsider"]).exists()
    # The directory matches a name whatever its case: only the password's case is mentioned.
    (said,) = set(pages.values())
    assert "The password is case-sensitive" in said and "Both are" not in said


def test_a_local_password_never_signs_a_directory_person_in(client, directory, make_user):
    make_user("ada", password="an-old-local-password-1")
    assert directory_sign_in(client, "ada", "an-old-local-password-1").status_code == 200
    assert directory_sign_in(client, "ada", ADA_PASSWORD).status_code == 302
    assert not get_user_model().objects.get(username="ada").has_usable_password()


# --- Reset ------------------------------------------------------------------------------------


def test_reset_writes_the_new_password_to_the_directory(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    page = client.get("/passwordreset/finish/").content.decode()
    # The directory's own rules are listed before typing, merged with the site's: its
    # 10 characters never apply beside the site's 12, so only the 12 is listed.
    assert "at least 12 characters" in page and "last 3 passwords" in page
    assert "at least 10 characters" not in page
    response = set_new(client, NEW_PASSWORD)
    assert shows_done_page(response)
    assert binds(slapd, "ada", NEW_PASSWORD)
    assert not binds(slapd, "ada", ADA_PASSWORD)
    event = Event.objects.filter(kind=EventKind.PASSWORD_RESET).get()
    assert event.details["store"] == "openldap"
    assert NEW_PASSWORD not in str(event.details)
    # Signing in here takes the new directory password.
    assert directory_sign_in(Client(), "ada", NEW_PASSWORD).status_code == 302


def test_reset_is_case_insensitive_like_the_directory(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client, username="ADA")
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert binds(slapd, "ada", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "words"),
    [
        # The site's own rules allow these; the directory's do not.
        ("Ada-Directory-2026", "you have used it before"),  # its current password: history
        ("{SSHA}Zm9vYmFyYmF6cXV4eA==", "quality check"),  # pre-hashed: quality
    ],
)
def test_a_password_the_directory_refuses_is_explained_and_changes_nothing(
    client, slapd, directory, password, words, settings
):
    settings.AUTH_PASSWORD_VALIDATORS = []  # let the directory be the one that refuses
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    response = set_new(client, password)
    assert response.status_code == 200
    text = response.content.decode()
    assert words in text
    assert 'aria-invalid="true"' in text  # next to the field it concerns
    assert binds(slapd, "ada", ADA_PASSWORD)
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    refused = Event.objects.get(kind=EventKind.PASSWORD_REFUSED)
    assert password not in str(refused.details)
    # The attempt stays: another password works without proving identity again.
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert binds(slapd, "ada", NEW_PASSWORD)


def test_too_short_for_the_directory(client, slapd, directory, settings):
    settings.AUTH_PASSWORD_VALIDATORS = []
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    text = set_new(client, "Short-1").content.decode()
    assert "shorter than its rules allow" in text
    assert binds(slapd, "ada", ADA_PASSWORD)


def test_history_refuses_a_recent_password(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    second = Client()
    prove_with_email(second)
    text = set_new(second, NEW_PASSWORD).content.decode()
    assert "you have used it before" in text
    assert binds(slapd, "ada", NEW_PASSWORD)


YOUNG = (
    *DEMO_PEOPLE,
    Person("yuri", "Yuri-Directory-2026", "Yuri", "Young", policy=STRICT_POLICY_DN),
)


@pytest.mark.parametrize("slapd_people", [YOUNG], ids=["minimum-age-policy"])
def test_a_password_too_young_to_change_is_explained(client, slapd, directory):
    directory_sign_in(Client(), "yuri", "Yuri-Directory-2026")
    registered("yuri", "yuri.home@example.net")
    prove_with_email(client, "yuri", "yuri.home@example.net")
    page = client.get("/passwordreset/finish/").content.decode()
    assert "next change is allowed after 1 day" in page
    text = set_new(client, NEW_PASSWORD).content.decode()
    assert "changed too recently" in text
    assert binds(slapd, "yuri", "Yuri-Directory-2026")


def test_reset_clears_the_directory_lockout(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    lock_out(slapd, "ada")
    assert entry(slapd, "ada", "pwdAccountLockedTime")
    prove_with_email(client)
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert not entry(slapd, "ada", "pwdAccountLockedTime", "pwdFailureTime", "pwdReset")
    assert binds(slapd, "ada", NEW_PASSWORD)


# --- Unlock -----------------------------------------------------------------------------------


def test_a_locked_person_unlocks_from_the_portal_keeping_their_password(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    lock_out(slapd, "ada")
    assert not binds(slapd, "ada", ADA_PASSWORD)
    response = start_reset(client, "ada", action="unlock")
    assert response.status_code == 302
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    import re

    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    client.post("/passwordreset/email/code/", {"code": code})
    page = client.get("/passwordreset/finish/").content.decode()
    assert "Your account is locked at the moment." in page
    assert shows_done_page(client.post("/passwordreset/finish/"), "unlock")
    assert binds(slapd, "ada", ADA_PASSWORD)
    assert not entry(slapd, "ada", "pwdAccountLockedTime", "pwdFailureTime")
    assert Event.objects.filter(kind=EventKind.ACCOUNT_UNLOCKED).count() == 1


def test_the_lock_state_is_not_shown_before_identity_is_proven(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    lock_out(slapd, "ada")
    start_reset(client, "ada", action="unlock")
    for path in ("/passwordreset/methods/", "/passwordreset/email/"):
        assert "locked at the moment" not in client.get(path).content.decode()
    assert client.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"


# --- The directory failing --------------------------------------------------------------------


def test_a_directory_that_is_down_is_explained_and_nothing_is_recorded(client, slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    slapd.stop()
    response = set_new(client, NEW_PASSWORD)
    assert response.status_code == 503
    assert "cannot be reached just now, so nothing was changed" in response.content.decode()
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    # The portal's first page says so too, for everyone alike.
    from django.core.cache import cache

    cache.clear()
    response = start_reset(Client(), "ada")
    assert response.status_code == 503
    assert "Password reset is unavailable just now" in response.content.decode()
    # Sign-in says so, for every name alike, on the site's page for it.
    for name in ("ada", "nobody"):
        response = directory_sign_in(Client(), name, ADA_PASSWORD)
        assert response.status_code == 503
        assert "The account directory is unavailable" in response.content.decode()


def test_readiness_reports_the_directory(client, slapd, directory):
    from directory.accounts import check_directory
    from sspr_site import health

    health.register("directory")(check_directory)  # as start-up does in directory mode
    try:
        assert client.get("/readyz").status_code == 200
        slapd.stop()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "directory" in response.content.decode()
    finally:
        health.CHECKS.pop("directory", None)


def test_the_service_connection_lost_mid_reset_changes_nothing(client, slapd, settings, db):
    """The relay forwards the bind and the search, and cuts the connection when the password
    modify request comes: the page says nothing changed, and nothing did."""
    from tests.support.directory import use_directory
    from tests.support.tcp_cut import CuttingRelay

    relay = CuttingRelay(slapd.port, cut_on=b"1.3.6.1.4.1.4203.1.11.1")  # password modify
    try:
        use_directory(
            settings, {**slapd.environment(), "LDAP_URI": f"ldap://127.0.0.1:{relay.port}"}
        )
        directory_sign_in(Client(), "ada", ADA_PASSWORD)
        registered()
        prove_with_email(client)
        response = set_new(client, NEW_PASSWORD)
        assert relay.cuts == 1
        assert response.status_code == 503
        assert "nothing was changed" in response.content.decode()
        assert binds(slapd, "ada", ADA_PASSWORD) and not binds(slapd, "ada", NEW_PASSWORD)
        assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
        # Once the network is back, the same attempt finishes without proving identity again.
        use_directory(settings, slapd.environment())
        assert shows_done_page(set_new(client, NEW_PASSWORD))
        assert binds(slapd, "ada", NEW_PASSWORD)
    finally:
        relay.close()


@pytest.fixture
def answers_lost(slapd, settings, db):
    """The site's directory connections through a relay that passes the password modify on
    and cuts the connection before its answer comes back."""
    from tests.support.directory import use_directory
    from tests.support.tcp_cut import CuttingRelay

    relay = CuttingRelay(slapd.port, cut_on=b"1.3.6.1.4.1.4203.1.11.1", deliver=True)
    use_directory(settings, {**slapd.environment(), "LDAP_URI": f"ldap://127.0.0.1:{relay.port}"})
    yield relay
    relay.close()


def test_a_new_password_whose_answer_was_lost_is_taken_as_made(client, slapd, answers_lost):
    """The relay passes the password modify on and cuts the connection before its answer:
    the site asks the directory again, sees the change made, and finishes as if it had heard
    (done page, audit event, notice), where it said "nothing was changed" of a changed
    password, and a second try was refused as one used before."""
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    mail.outbox.clear()
    response = set_new(client, NEW_PASSWORD)
    assert answers_lost.cuts == 1
    assert shows_done_page(response)
    assert binds(slapd, "ada", NEW_PASSWORD) and not binds(slapd, "ada", ADA_PASSWORD)
    assert Event.objects.filter(kind=EventKind.PASSWORD_RESET).count() == 1
    assert mail.outbox  # the notice of the change


def test_a_change_whose_answer_was_lost_is_taken_as_made(slapd, answers_lost):
    """At the change page too: the person's own change, its answer cut on the way back, is
    found made, and the page goes on as if it had been answered."""
    client = signed_in_directory("ada", ADA_PASSWORD)
    response = post_change(client)
    assert answers_lost.cuts == 1
    assert response.status_code == 302, response.content.decode()[:2000]
    assert binds(slapd, "ada", NEW_PASSWORD)
    assert Event.objects.filter(kind=EventKind.PASSWORD_CHANGED).count() == 1


def test_a_new_password_whose_outcome_cannot_be_asked_says_so(
    client, slapd, settings, answers_lost, monkeypatch
):
    """Sent, its answer lost, and the directory not reachable to ask: the page does not say
    "nothing was changed", since it may have been."""
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    prove_with_email(client)
    cannot_be_asked_again(monkeypatch)
    elsewhere = signed_in_directory("ada", ADA_PASSWORD)
    response = set_new(client, NEW_PASSWORD)
    page = response.content.decode()
    assert response.status_code == 200  # the attempt is kept (a 5xx would not save it)
    assert "it is not known whether it took it" in page
    assert "nothing was changed" not in page
    # It may have been set: sessions end as a new password's would, and the audit says
    # what is known (no "password reset" it cannot vouch for).
    assert elsewhere.get("/ssprsetup/").status_code == 302
    assert Event.objects.filter(kind=EventKind.PASSWORD_UNCONFIRMED).count() == 1
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    # Setting one again, as the page says, goes on in the same attempt once the directory
    # answers: the sessions it ended (a new local password) are not the account changing
    # hands (passwordreset.flows.account_stamp).
    from tests.support.directory import use_directory

    monkeypatch.undo()
    use_directory(settings, slapd.environment())
    assert shows_done_page(set_new(client, "Another-New-Password-2027"))
    assert binds(slapd, "ada", "Another-New-Password-2027")


def test_a_change_whose_outcome_cannot_be_asked_keeps_this_session(slapd, directory, monkeypatch):
    """At the change page: the new password is written, its answer lost (the person's own
    connection reconnects by itself, so the relay cannot cut it here: the loss is raised after
    the real write), and the directory cannot be asked again. The page says it is not known;
    other sessions end as a new password's would, and this one stays (before, its 503 answer
    left this session unsaved under the renewed password, which signed the person out)."""
    import ldap

    from directory import ldap_accounts

    client = signed_in_directory("ada", ADA_PASSWORD)
    elsewhere = signed_in_directory("ada", ADA_PASSWORD)
    written = ldap_accounts.OpenLDAPAccounts._change

    def answer_lost(self, own, dn, current, new):
        written(self, own, dn, current, new)
        raise ldap.SERVER_DOWN({"desc": "Can't contact LDAP server"})

    monkeypatch.setattr(ldap_accounts.OpenLDAPAccounts, "_change", answer_lost)
    cannot_be_asked_again(monkeypatch)
    response = change(client, ADA_PASSWORD, NEW_PASSWORD)
    assert "it is not known whether it took it" in response.content.decode()
    assert binds(slapd, "ada", NEW_PASSWORD)
    assert elsewhere.get("/ssprsetup/").status_code == 302
    assert client.get("/ssprsetup/").status_code == 200
    assert Event.objects.filter(kind=EventKind.PASSWORD_UNCONFIRMED).count() == 1
    assert not Event.objects.filter(kind=EventKind.PASSWORD_CHANGED).exists()


@pytest.mark.parametrize("slapd_tls", [True])
def test_over_starttls_with_the_organisations_ca(client, slapd, directory):
    """Sign-in and reset over StartTLS, the certificate checked against LDAP_CA_FILE."""
    assert directory.start_tls and directory.ca_file
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    registered()
    prove_with_email(client)
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert binds(slapd, "ada", NEW_PASSWORD)


@pytest.mark.parametrize("slapd_tls", [True])
def test_a_certificate_from_another_ca_is_refused(client, slapd, settings, db, tmp_path):
    from directory.tls import make_ca
    from tests.support.directory import use_directory

    other = make_ca(tmp_path / "other")
    use_directory(settings, {**slapd.environment(), "LDAP_CA_FILE": str(other["ca"])})
    # An unknown certificate: the directory counts as unreachable, for sign-in too.
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 503
    assert not get_user_model().objects.filter(username="ada").exists()
    from django.core.cache import cache

    cache.clear()
    assert start_reset(Client(), "ada").status_code == 503


# --- Change a known password, as the person ---------------------------------------------------


def change(client: Client, current: str, new: str):
    return client.post(
        "/ssprsetup/password/",
        {"current_password": current, "new_password1": new, "new_password2": new},
    )


def signed_in_directory(username: str, password: str) -> Client:
    client = Client()
    assert directory_sign_in(client, username, password).status_code == 302
    session = client.session
    session.pop("sspr_check_registration", None)
    session.save()
    return client


def test_change_as_the_person_lands_in_the_directory(slapd, directory):
    client = signed_in_directory("ada", ADA_PASSWORD)
    page = client.get("/ssprsetup/password/").content.decode()
    # The rules, before typing, merged: the site's 12 characters, not the directory's 10.
    assert "last 3 passwords" in page and "at least 12 characters" in page
    assert "at least 10 characters" not in page
    assert change(client, ADA_PASSWORD, NEW_PASSWORD)["Location"] == "/ssprsetup/"
    assert binds(slapd, "ada", NEW_PASSWORD) and not binds(slapd, "ada", ADA_PASSWORD)
    assert Event.objects.get(kind=EventKind.PASSWORD_CHANGED).details["store"] == "openldap"
    # The directory's history applies to the person's own change: a password of hers from
    # before, one the site's own rules take, is in it.
    assert change(client, NEW_PASSWORD, LATER_PASSWORD)["Location"] == "/ssprsetup/"
    text = change(client, LATER_PASSWORD, NEW_PASSWORD).content.decode()
    assert "you have used it before" in text
    assert binds(slapd, "ada", LATER_PASSWORD)


def test_a_wrong_current_password_is_refused_by_the_directory(slapd, directory):
    client = signed_in_directory("ada", ADA_PASSWORD)
    text = change(client, "not-the-password", NEW_PASSWORD).content.decode()
    assert "That is not your current password." in text
    assert binds(slapd, "ada", ADA_PASSWORD)


@pytest.mark.parametrize("slapd_people", [YOUNG], ids=["minimum-age-policy"])
def test_the_minimum_age_applies_to_a_change(slapd, directory):
    client = signed_in_directory("yuri", "Yuri-Directory-2026")
    text = change(client, "Yuri-Directory-2026", NEW_PASSWORD).content.decode()
    assert "changed too recently" in text
    assert binds(slapd, "yuri", "Yuri-Directory-2026")


def test_a_reset_ends_the_persons_sessions_here(client, slapd, directory):
    open_session = signed_in_directory("ada", ADA_PASSWORD)
    assert open_session.get("/ssprsetup/").status_code == 200
    registered()
    prove_with_email(client)
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert open_session.get("/ssprsetup/").status_code == 302


# --- The helpdesk -----------------------------------------------------------------------------


def test_the_helpdesk_sees_the_directory_state(slapd, directory, helpdesk_client):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    ada = get_user_model().objects.get(username="ada")

    def state() -> str:
        page = helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
        return page[page.index('id="account-state"') :].split("</dl>")[0]

    assert "Locked</dt><dd>No" in state() and "Not known" in state()
    conn = slapd.connect()
    conn.passwd_s("uid=ada,ou=people,dc=example,dc=org", None, NEW_PASSWORD)
    lock_out(slapd, "ada")
    # Nothing registered: she cannot unlock it herself, and the page does not say she can.
    assert "The person cannot unlock it themselves now" in state()
    registered()
    assert "Yes: the person can unlock it" in state()
    assert "Not known" not in state()  # the directory's pwdChangedTime is shown
    slapd.stop()
    page = helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
    assert "cannot be reached just now" in page


def test_the_admin_signs_in_with_the_directory(slapd, settings, db):
    from directory.servers import STAFF_GROUP
    from tests.support.directory import use_directory

    use_directory(settings, {**slapd.environment(), "LDAP_SUPERUSER_GROUP": STAFF_GROUP})
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ken", "password": "Ken-Directory-2026"}
    )
    assert response["Location"] == "/admin/"
    ken = get_user_model().objects.get(username="ken")
    assert ken.is_superuser and ken.is_staff and not ken.has_usable_password()
    session = client.session
    session.pop("sspr_check_registration", None)  # past the registration prompt
    session.save()
    assert client.get("/admin/").status_code == 200
    # Someone outside the administrators' group cannot use the admin.
    other = Client()
    other.post("/admin/login/?next=/admin/", {"username": "ada", "password": ADA_PASSWORD})
    assert other.get("/admin/")["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("name", ["*", "ada)(uid=*", "a*", "ada\\00", "(|(uid=*))"])
def test_filter_characters_in_a_name_match_nobody(client, slapd, directory, name):
    """A name is escaped before it reaches a search: wildcards and brackets find nobody."""
    assert directory_sign_in(Client(), name, ADA_PASSWORD).status_code == 200
    assert not get_user_model().objects.exists()
    from directory.accounts import AccountMissing, accounts

    with accounts().service() as conn, pytest.raises(AccountMissing):
        accounts().find(conn, name)


def test_an_outage_does_not_lock_anyone_out(slapd, directory, settings):
    """Sign-ins tried while the directory is down are not counted toward the lockout."""
    from django.core.cache import cache

    slapd._terminate()
    for _ in range(settings.SSPR_LOCKOUT_FAILURES + 2):
        assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 503
    slapd._launch()
    cache.clear()  # the "directory is up" answer is kept for a few seconds
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302


def test_starts_without_javascript_during_an_outage_cost_nothing(slapd, directory, settings):
    """A browser without JavaScript presses Continue while the directory is down: the page says
    the directory cannot be reached, and the budget for starts without the check is untouched
    once it is back."""
    from django.core.cache import cache

    from directory.accounts import FAILURES_KEY, OPEN_UNTIL_KEY, UP_KEY
    from tests.support.resets import shows_methods_page

    # What the site keeps of the directory's state (not the budgets, which are the point).
    directory_state = [UP_KEY, FAILURES_KEY, OPEN_UNTIL_KEY]
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 1
    sent = {"username": "ada", "action": "reset", "altcha": "", "without_script": "1"}
    slapd._terminate()
    cache.delete_many(directory_state)
    for _ in range(3):
        down = Client().post("/passwordreset/", sent)
        assert down.status_code == 503
        assert "Password reset is unavailable just now" in down.content.decode()
    slapd._launch()
    cache.delete_many(directory_state)
    assert shows_methods_page(Client().post("/passwordreset/", sent))
    assert Client().post("/passwordreset/", sent).status_code == 429


def test_signing_in_elsewhere_keeps_the_first_session(slapd, directory):
    """A second sign-in must not end the first: only a new password ends sessions."""
    first = signed_in_directory("ada", ADA_PASSWORD)
    second = signed_in_directory("ada", ADA_PASSWORD)
    assert first.get("/ssprsetup/").status_code == 200
    assert second.get("/ssprsetup/").status_code == 200


def test_a_change_after_leaving_the_directory_is_explained(slapd, directory):
    client = signed_in_directory("ada", ADA_PASSWORD)
    slapd.connect().delete_s("uid=ada,ou=people,dc=example,dc=org")
    response = change(client, ADA_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200
    assert "cannot be changed here. Nothing was changed" in response.content.decode()


# --- An account the directory turned off ------------------------------------------------------


@pytest.mark.parametrize("action", ["unlock", "reset"])
def test_a_turned_off_account_is_neither_unlocked_nor_reset(client, slapd, directory, action):
    """Clearing OpenLDAP's lock would turn the account back on (docs/security.md §70): after
    the proof the page says the account is turned off and offers nothing; a form sent anyway
    changes nothing in the directory, and no notice says otherwise."""
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    turn_off(slapd)
    assert not binds(slapd, "ada", ADA_PASSWORD)
    response = start_reset(client, "ada", action=action)
    assert response.status_code == 302
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    import re

    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    client.post("/passwordreset/email/code/", {"code": code})
    mail.outbox.clear()
    page = client.get("/passwordreset/finish/").content.decode()
    assert "This account is turned off" in page
    assert "Unlock my account" not in page and "Set the new password" not in page
    sent = (
        set_new(client, NEW_PASSWORD)
        if action == "reset"
        else client.post("/passwordreset/finish/")
    )
    assert sent.status_code == 409
    assert "its password cannot be reset or its lock cleared here" in sent.content.decode()
    assert entry(slapd, "ada", "pwdAccountLockedTime") == {
        "pwdAccountLockedTime": ["000001010000Z"]
    }
    assert not binds(slapd, "ada", ADA_PASSWORD) and not binds(slapd, "ada", NEW_PASSWORD)
    assert not Event.objects.filter(
        kind__in=[EventKind.PASSWORD_RESET, EventKind.ACCOUNT_UNLOCKED]
    ).exists()
    refused = Event.objects.get(kind=EventKind.RESET_REFUSED)
    assert refused.details["reason"] == "account_disabled"
    assert mail.outbox == []


def test_the_helpdesk_is_told_a_turned_off_account_cannot_reset_or_get_a_pass(
    slapd, directory, helpdesk_client
):
    from accesspass.models import AccessPass
    from tests.support.access_passes import issue

    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    ada = registered()
    turn_off(slapd)
    page = helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
    assert "Can reset</dt><dd>No — the account is turned off" in page
    assert "The person cannot unlock it: the account is turned off." in page
    assert "the person can unlock it" not in page
    page = helpdesk_client.get(f"/helpdesk/pass/users/{ada.pk}/").content.decode()
    assert "This account is turned off, so a pass could not be used" in page
    assert 'name="verification"' not in page
    response = issue(helpdesk_client, ada)
    assert "This account is turned off" in response.content.decode()
    assert not AccessPass.objects.exists()


def test_the_mirror_marks_a_turned_off_account_inactive(slapd, directory):
    from django.core.management import call_command

    turn_off(slapd)
    call_command("sync_directory", verbosity=0)
    people = get_user_model().objects.in_bulk(["ada", "grace"], field_name="username")
    assert people["ada"].is_active is False
    assert people["grace"].is_active is True


def test_a_person_whose_account_is_turned_off_is_signed_out_of_open_sessions(slapd, directory):
    """The sync marks a turned-off account inactive: a session opened before ends with it."""
    from directory.sync import sync_directory

    client = signed_in_directory("ada", ADA_PASSWORD)
    assert client.get("/ssprsetup/").status_code == 200
    turn_off(slapd)
    sync_directory()
    assert not get_user_model().objects.get(username="ada").is_active
    for page in ("/ssprsetup/", "/ssprsetup/email/"):
        response = client.get(page)
        assert response.status_code == 302 and "/ssprsetup/signin/" in response["Location"]


def test_an_administrator_made_here_stays_staff_after_signing_in(slapd, directory):
    """An administrator of the site (is_superuser set here, not by the directory): the
    sign-in's flags come from the directory's groups only and took staff status away, so the
    account lost the admin and counted as an ordinary one at the reset portal (one method,
    security questions). It stays staff, as the sync keeps it."""
    from directory.sync import sync_directory
    from methods.reset_rule import is_privileged

    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    get_user_model().objects.filter(username="ada").update(is_superuser=True, is_staff=True)
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    ada = get_user_model().objects.get(username="ada")
    assert ada.is_staff and ada.is_superuser and is_privileged(ada)
    sync_directory()
    ada.refresh_from_db()
    assert ada.is_staff and ada.is_superuser


def _grace_with_email_and_phone():
    """Grace, mirrored by the sync as an ordinary account, with a verified email and phone."""
    from directory.sync import sync_directory
    from methods.models import AuthenticationPhone

    sync_directory()
    grace = get_user_model().objects.get(username="grace")
    assert not grace.is_staff
    AuthenticationEmail.objects.create(
        user=grace, email="grace.home@example.net", verified_at=timezone.now()
    )
    AuthenticationPhone.objects.create(
        user=grace, number="+447400123456", verified_at=timezone.now()
    )
    return grace


def made_staff(slapd, uid: str) -> None:
    """The directory adds the person to the staff group (the mirror has not read it yet)."""
    import ldap

    from directory.servers import PEOPLE, STAFF_GROUP

    conn = slapd.connect()
    conn.modify_s(STAFF_GROUP, [(ldap.MOD_ADD, "member", [f"uid={uid},{PEOPLE}".encode()])])
    conn.unbind_s()


def test_an_account_made_staff_since_it_was_read_is_not_reset_with_one_method(slapd, directory):
    """Grace is added to the staff group after the sync read her: a reset proven with one
    method (an ordinary account's rule) changes nothing, says why, and the mirror now knows;
    the next attempt needs a second method (docs/security.md §14)."""
    from tests.passwordreset.test_portal import pass_email, pass_phone

    grace = _grace_with_email_and_phone()
    attempt = Client()
    assert start_reset(attempt, "grace")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_email(attempt, "grace.home@example.net"))
    made_staff(slapd, "grace")
    chosen = "Chosen-After-Promotion-2027"
    page = attempt.post(
        "/passwordreset/finish/", {"new_password1": chosen, "new_password2": chosen}, follow=True
    ).content.decode()
    assert "this account is now an administrator" in page
    assert not binds(slapd, "grace", chosen)
    grace.refresh_from_db()
    assert grace.is_staff
    assert Event.objects.filter(
        kind=EventKind.RESET_REFUSED, subject=grace, details__reason="account_privileged"
    ).exists()
    again = Client()
    assert start_reset(again, "grace")["Location"] == "/passwordreset/methods/"
    # One more is needed now.
    assert pass_email(again, "grace.home@example.net")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_phone(again))


def test_an_account_made_staff_whose_attempt_meets_the_administrators_rule_is_reset(
    slapd, directory, policy
):
    """The policy asks two methods of everyone; Grace passed two, then was made staff: the
    attempt meets the administrators' rule as well, so it finishes, and the mirror learns she
    is staff."""
    from tests.passwordreset.test_portal import pass_email, pass_phone

    policy.reset_methods_required = 2
    policy.save()
    grace = _grace_with_email_and_phone()
    attempt = Client()
    assert start_reset(attempt, "grace")["Location"] == "/passwordreset/methods/"
    assert pass_email(attempt, "grace.home@example.net")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_phone(attempt))
    made_staff(slapd, "grace")
    chosen = "Chosen-After-Promotion-2027"
    done = attempt.post(
        "/passwordreset/finish/", {"new_password1": chosen, "new_password2": chosen}
    )
    assert shows_done_page(done)
    assert binds(slapd, "grace", chosen)
    grace.refresh_from_db()
    assert grace.is_staff


def test_a_staff_group_that_is_not_there_stops_nobodys_reset(slapd, settings, db):
    """A setting naming a group since removed: sign-in takes it as holding nobody, and so
    does the reset's question whether the account is an administrator's (before, every
    ordinary person's reset ended on "the directory refused")."""
    from tests.support.directory import use_directory

    use_directory(
        settings,
        {**slapd.environment(), "LDAP_SUPERUSER_GROUP": "cn=gone,ou=groups,dc=example,dc=org"},
    )
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    client = Client()
    prove_with_email(client)
    assert shows_done_page(set_new(client, NEW_PASSWORD))
    assert binds(slapd, "ada", NEW_PASSWORD)


def test_a_turned_off_account_at_the_change_page_is_not_told_to_unlock(slapd, directory):
    """Turned off in the directory while signed in (OpenLDAP's administrator lock is the
    lockout's attribute): no password is tried, and the page does not send the person to
    unlock, which the portal refuses for a turned-off account."""
    client = signed_in_directory("ada", ADA_PASSWORD)
    turn_off(slapd, "ada")
    response = post_change(client)
    page = response.content.decode()
    assert "This account cannot be changed here" in page
    assert "Unlock your account" not in page
    assert not binds(slapd, "ada", NEW_PASSWORD)
