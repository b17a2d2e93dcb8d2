"""Directory mode under attack, against a real slapd with the password policy overlay (which
locks an entry after 3 failed binds): nobody locks a named account through this site, case
variants share one count, a directory that hangs or refuses gets one clear page and never a
server error, and the deploy check proves the service account's rights (docs/security.md
§39-43)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from audit.models import Event, EventKind
from directory.lockout import lockout_key
from directory.servers import MAX_FAILURES, ROOT_DN
from tests.support.at_once import at_once
from tests.support.directory import binds, directory_sign_in, entry, use_directory

from .test_openldap import (
    ADA_PASSWORD,
    NEW_PASSWORD,
    post_change,
    registered,
    signed_in_directory,
)

pytestmark = [pytest.mark.directory, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    cache.clear()
    yield
    cache.clear()


def is_locked_in_directory(slapd, uid: str) -> bool:
    return "pwdAccountLockedTime" in entry(slapd, uid, "pwdAccountLockedTime")


def failures_in_directory(slapd, uid: str) -> int:
    return len(entry(slapd, uid, "pwdFailureTime").get("pwdFailureTime", []))


def signed_in() -> Client:
    return signed_in_directory("ada", ADA_PASSWORD)


# --- Nobody locks a named account through this site (§40) -------------------------------------


def test_the_sites_limit_stays_below_the_directorys_threshold(directory, settings):
    from directory.lockout import directory_threshold, failure_limit

    assert settings.SSPR_LOCKOUT_FAILURES == 5
    assert directory_threshold() == MAX_FAILURES == 3
    assert failure_limit() == 2


@pytest.mark.parametrize("page", ["/ssprsetup/signin/", "/admin/login/"])
def test_wrong_sign_ins_never_lock_the_account_in_the_directory(slapd, directory, page):
    for _ in range(10):
        response = Client().post(page, {"username": "ada", "password": "not-her-password"})
        assert response.status_code in (200, 429)
    assert not is_locked_in_directory(slapd, "ada")
    assert failures_in_directory(slapd, "ada") < MAX_FAILURES
    assert binds(slapd, "ada", ADA_PASSWORD)
    # The site's own lockout holds the name, and says how to unlock.
    page = directory_sign_in(Client(), "ada", ADA_PASSWORD)
    assert page.status_code == 429 and "/passwordreset/" in page.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ["/ssprsetup/signin/", "/admin/login/"])
def test_wrong_sign_ins_sent_at_the_same_moment_never_lock_the_account(slapd, settings, page):
    """Six wrong passwords at once, each on its own connection: each try counts those still
    under way, so no more are tried than one after another would be."""
    use_directory(settings, slapd.environment())
    pages = at_once(
        lambda: Client().post(page, {"username": "ada", "password": "not-her-password"}), 6
    )
    assert len(pages) == 6 and all(response.status_code in (200, 429) for response in pages)
    assert failures_in_directory(slapd, "ada") < MAX_FAILURES
    assert not is_locked_in_directory(slapd, "ada")
    assert binds(slapd, "ada", ADA_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_wrong_current_passwords_sent_at_the_same_moment_never_lock_the_account(slapd, settings):
    use_directory(settings, slapd.environment())
    client = signed_in()
    form = {
        "current_password": "not-her-password",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    pages = at_once(lambda: client.post("/ssprsetup/password/", form), 6)
    assert len(pages) == 6 and all(response.status_code in (200, 429) for response in pages)
    assert not is_locked_in_directory(slapd, "ada")
    assert binds(slapd, "ada", ADA_PASSWORD)


def test_wrong_current_passwords_at_the_change_page_never_lock_the_account(slapd, directory):
    client = signed_in()
    for _ in range(8):
        response = client.post(
            "/ssprsetup/password/",
            {
                "current_password": "not-her-password",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code in (200, 429)
    assert response.status_code == 429
    assert not is_locked_in_directory(slapd, "ada")
    assert binds(slapd, "ada", ADA_PASSWORD)


def test_a_change_held_by_the_directorys_count_says_to_unlock_not_to_wait(slapd, directory):
    """Failures typed at a workstation leave one before the lock: the change page does not
    try even the right current password, and points to unlocking (that count may never lapse
    by itself), not to waiting an hour as for the site's own lockout."""
    import ldap

    from directory.servers import PEOPLE

    client = signed_in()
    for _ in range(MAX_FAILURES - 1):
        conn = ldap.initialize(slapd.uri)
        with pytest.raises(ldap.INVALID_CREDENTIALS):
            conn.simple_bind_s(f"uid=ada,{PEOPLE}", "typed-at-a-workstation")
        conn.unbind_s()
    response = post_change(client)
    page = response.content.decode()
    assert response.status_code == 429
    assert "Your current password was not tried" in page
    assert "Unlock your account at the password reset page" in page
    assert "Wait an hour" not in page
    assert not is_locked_in_directory(slapd, "ada")
    assert binds(slapd, "ada", ADA_PASSWORD)


def test_a_locked_account_at_the_change_page_is_told_it_is_locked_not_that_it_is_wrong(
    slapd, directory
):
    """Locked from elsewhere, the failures that locked it since out of the policy's count (a
    policy that counts failures over a window, and locks until an unlock): the directory
    refuses even the right current password. The page tried it, said "That is not your
    current password", and counted a failed sign-in; now it tries none and says to unlock."""
    import datetime

    import ldap

    from directory.ldap_accounts import RELAX_RULES
    from directory.servers import PEOPLE

    client = signed_in()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%SZ").encode()
    conn = slapd.connect()
    conn.modify_ext_s(
        f"uid=ada,{PEOPLE}",
        [(ldap.MOD_REPLACE, "pwdAccountLockedTime", [stamp])],
        serverctrls=[RELAX_RULES],
    )
    conn.unbind_s()
    failed_before = Event.objects.filter(kind=EventKind.SIGN_IN_FAILED).count()
    response = post_change(client)
    page = response.content.decode()
    assert response.status_code == 429
    assert "Your account is locked in the directory" in page
    assert "not your current password" not in page
    assert Event.objects.filter(kind=EventKind.SIGN_IN_FAILED).count() == failed_before
    assert entry(slapd, "ada", "pwdAccountLockedTime")  # still locked: nothing was tried


def test_the_confirm_password_step_never_locks_the_account(slapd, directory):
    client = signed_in()
    for _ in range(8):
        response = client.post("/ssprsetup/confirm-password/", {"password": "not-her-password"})
        assert response.status_code in (200, 429)
    assert not is_locked_in_directory(slapd, "ada")
    assert binds(slapd, "ada", ADA_PASSWORD)


def test_failures_made_elsewhere_are_counted_before_the_site_tries(slapd, directory):
    """Two failures on another system leave one before the lock: the site tries no password
    then, and its page reads as for any failed sign-in."""
    import ldap

    from directory.servers import PEOPLE

    for _ in range(MAX_FAILURES - 1):
        conn = ldap.initialize(slapd.uri)
        with pytest.raises(ldap.INVALID_CREDENTIALS):
            conn.simple_bind_s(f"uid=ada,{PEOPLE}", "typed-at-a-workstation")
        conn.unbind_s()
    wrong = directory_sign_in(Client(), "ada", "not-her-password")
    unknown = directory_sign_in(Client(), "nobody-at-all", "not-her-password")
    assert wrong.status_code == unknown.status_code == 200
    assert failures_in_directory(slapd, "ada") == MAX_FAILURES - 1
    assert not is_locked_in_directory(slapd, "ada")


def test_a_right_password_held_back_is_explained_where_it_can_be_and_unlocking_clears_it(
    slapd, directory, helpdesk_client
):
    """With failures made elsewhere one short of the lock, the right password is not tried
    either. The sign-in says, to everyone whose sign-in failed, that failures elsewhere count
    and unlocking clears them; the helpdesk and the unlock page (after proof) say it of this
    account; unlocking at the portal clears the count and the password works again."""
    import re

    import ldap
    from django.core import mail

    from directory.servers import PEOPLE
    from tests.support.resets import shows_done_page, start_reset

    from .test_openldap import registered

    directory_sign_in(Client(), "ada", ADA_PASSWORD)  # mirrored
    ada = registered()
    for _ in range(MAX_FAILURES - 1):
        conn = ldap.initialize(slapd.uri)
        with pytest.raises(ldap.INVALID_CREDENTIALS):
            conn.simple_bind_s(f"uid=ada,{PEOPLE}", "typed-at-a-workstation")
        conn.unbind_s()
    right = directory_sign_in(Client(), "ada", ADA_PASSWORD)
    unknown = directory_sign_in(Client(), "nobody-at-all", ADA_PASSWORD)
    assert right.status_code == unknown.status_code == 200
    for page in (right, unknown):
        assert "failed sign-ins elsewhere count too" in page.content.decode()
    desk = helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
    assert "2 of 3 before the directory locks the account" in desk
    assert "tries no password of this person" in desk
    client = Client()
    assert start_reset(client, "ada", action="unlock").status_code == 302
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    client.post("/passwordreset/email/code/", {"code": code})
    finish = client.get("/passwordreset/finish/").content.decode()
    assert "this site does not try your password for now" in finish
    assert shows_done_page(client.post("/passwordreset/finish/"), "unlock")
    assert failures_in_directory(slapd, "ada") == 0
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302


def test_a_failed_sign_in_is_recorded_against_the_account_as_resolved(slapd, directory):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)  # mirrored
    directory_sign_in(Client(), "ADA", "not-her-password")
    directory_sign_in(Client(), "Ada-Directory-2026", "pasted in the wrong box")
    ada = get_user_model().objects.get(username="ada")
    events = Event.objects.filter(kind=EventKind.SIGN_IN_FAILED)
    assert [event.subject_id for event in events.order_by("pk")] == [ada.pk, None]
    assert "Ada-Directory-2026" not in str(list(events.values()))


# --- Case variants are one account (§39) --------------------------------------------------------


def test_case_variants_share_one_count(slapd, directory):
    assert directory_sign_in(Client(), "ADA", "not-her-password").status_code == 200
    # The second failure, in another spelling, reaches the limit of two for the one name.
    assert directory_sign_in(Client(), "Ada", "not-her-password").status_code == 429
    for name in ("ada", "aDa", "ＡＤＡ"):  # the last in full-width letters (NFKC: "ADA")
        assert directory_sign_in(Client(), name, ADA_PASSWORD).status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {lockout_key("ada")}
    assert not is_locked_in_directory(slapd, "ada")


def test_any_spelling_signs_in_to_one_mirrored_person(slapd, directory):
    assert directory_sign_in(Client(), "ADA", ADA_PASSWORD).status_code == 302
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["ada"]


def test_a_filter_matching_the_mail_too_mirrors_the_entrys_own_name(slapd, settings):
    """A sign-in by another attribute the filter matches is the same person: one mirrored
    user, named as the entry names them, which the sync keeps."""
    from directory.models import DirectoryAccount
    from directory.sync import sync_directory

    use_directory(
        settings, {**slapd.environment(), "LDAP_USER_FILTER": "(|(uid=%(user)s)(mail=%(user)s))"}
    )
    sync_directory()
    mail = entry(slapd, "ada", "mail")["mail"][0]
    assert directory_sign_in(Client(), mail, ADA_PASSWORD).status_code == 302
    sync_directory()
    people = get_user_model().objects.filter(username__in=["ada", mail.lower()])
    assert list(people.values_list("username", "is_active")) == [("ada", True)]
    assert DirectoryAccount.objects.count() == get_user_model().objects.count()


def test_a_failure_typed_as_the_mail_is_recorded_against_the_person(slapd, settings):
    """A wrong password typed as the mail, which the filter also matches, is the person's in
    the audit log (the helpdesk reads it there). The lockout's count, and so what the page
    says, stays with the spelling typed, as for a mail that matches nobody: a lock on the uid
    does not tell that a mail address is hers. The directory's own count, read before each
    try, holds the entry's tries whatever was typed."""
    from directory.sync import sync_directory

    use_directory(
        settings, {**slapd.environment(), "LDAP_USER_FILTER": "(|(uid=%(user)s)(mail=%(user)s))"}
    )
    sync_directory()
    mail = entry(slapd, "ada", "mail")["mail"][0]
    for _ in range(2):
        assert directory_sign_in(Client(), "ada", "not-her-password").status_code in (200, 429)
    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 429
    # Her mail and a mail of nobody's read alike: one failure each, no lock.
    for name in (mail, "nobody@example.org"):
        assert directory_sign_in(Client(), name, "not-her-password").status_code == 200
    # The second try of each reaches the limit of two for that spelling, alike; her right
    # password under the mail was not tried: the directory counts two failures of three.
    assert directory_sign_in(Client(), mail, ADA_PASSWORD).status_code == 429
    assert directory_sign_in(Client(), "nobody@example.org", "not-hers").status_code == 429
    assert failures_in_directory(slapd, "ada") == 2 and not is_locked_in_directory(slapd, "ada")
    ada = get_user_model().objects.get(username="ada")
    failed = Event.objects.filter(kind=EventKind.SIGN_IN_FAILED).order_by("pk")
    subjects = [ada.pk, ada.pk, ada.pk, ada.pk, None, ada.pk, None]
    assert [event.subject_id for event in failed] == subjects


# --- The reset portal takes the mail where sign-in does (§39) -----------------------------------

BY_MAIL = "(|(uid=%(user)s)(mail=%(user)s))"


def _reset_code_sent(client: Client, typed: str) -> bool:
    """A reset started for `typed`, a code asked for at Ada's alternate email: was one sent?"""
    from django.core import mail

    from tests.support.resets import start_reset

    before = len(mail.outbox)
    assert start_reset(client, typed).status_code == 302
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    return len(mail.outbox) > before


def test_the_portal_takes_the_mail_where_sign_in_does(slapd, settings):
    """Where the sign-in's filter matches the mail too, a person who knows their mail as their
    name resets with it (the lockout page's unlock link carries the name as typed); where it
    matches the uid alone, the mail names nobody at the portal either."""
    import re

    from django.core import mail

    from directory.sync import sync_directory
    from tests.support.resets import shows_done_page, shows_finish_page

    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    registered()
    address = entry(slapd, "ada", "mail")["mail"][0]
    for page in ("/passwordreset/", "/ssprsetup/signin/"):
        assert "Username or email" in Client().get(page).content.decode()
    client = Client()
    assert _reset_code_sent(client, address.upper())
    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    assert shows_finish_page(client.post("/passwordreset/email/code/", {"code": code}))
    response = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(response)
    assert binds(slapd, "ada", NEW_PASSWORD)
    use_directory(settings, slapd.environment())  # the uid alone
    assert not _reset_code_sent(Client(), address)
    for page in ("/passwordreset/", "/ssprsetup/signin/"):
        assert "Username or email" not in Client().get(page).content.decode()


def test_the_portals_first_step_reads_alike_for_a_mail_a_name_and_nobody(slapd, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from directory.sync import sync_directory
    from passwordreset import captcha

    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    registered()
    address = entry(slapd, "ada", "mail")["mail"][0]
    counts = {}
    for name in (address, "ada", "nobody@example.org", "nobody"):
        client = Client()
        challenge = client.get("/passwordreset/check/").json()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                "/passwordreset/", {"username": name, "altcha": captcha.solve(challenge)}
            )
        assert response.status_code == 302
        counts[name] = len(queries)
    assert len(set(counts.values())) == 1, counts


def test_a_block_under_the_mail_is_the_persons_at_the_helpdesk(slapd, settings, helpdesk_client):
    """Too many resets started with her mail block that spelling for a day; her username keeps
    its own count (a block on one tells nobody the other is hers). The helpdesk sees the block
    on her page and in the list, and lifting it lets her mail start a reset again."""
    from directory.sync import sync_directory
    from passwordreset import captcha
    from passwordreset.conf import app_settings

    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    ada = registered()
    address = entry(slapd, "ada", "mail")["mail"][0]

    def start(name: str):
        client = Client()
        challenge = client.get("/passwordreset/check/").json()
        return client.post(
            "/passwordreset/", {"username": name, "altcha": captcha.solve(challenge)}
        )

    for _ in range(app_settings.RESET_ATTEMPTS_PER_HOUR + 1):
        start(address)
    assert start(address).status_code == 429  # refused, with the reason on the page
    assert start("ada").status_code == 302
    page = helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
    assert "with the person's email address as the name" in page
    assert "their username still works" in page
    assert "started for this name" not in page
    # Her username still resets: the list says she can.
    assert "No: too many attempts" not in helpdesk_client.get("/helpdesk/?q=ada").content.decode()
    helpdesk_client.post(
        f"/helpdesk/users/{ada.pk}/reset-block/", {"block-verification": "in_person"}
    )
    assert "Too many password resets were started" not in (
        helpdesk_client.get(f"/helpdesk/users/{ada.pk}/").content.decode()
    )
    assert start(address).status_code == 302


def test_typed_as_a_mail_questions_come_after_another_method(slapd, settings, policy):
    """Her questions would read alike under her mail and her username, telling both are
    hers: a name written as a mail is offered them only after another method, for every such
    name, and the page says so; her username is offered them first as before."""
    from directory.sync import sync_directory

    policy.set_option("questions", "enabled", True)
    policy.save()
    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    registered()
    address = entry(slapd, "ada", "mail")["mail"][0]
    note = "You started with an email address, so security questions come after another method"
    pages = {}
    for name in (address, "nobody@example.org", "ada"):
        client = Client()
        from tests.support.resets import start_reset

        start_reset(client, name)
        pages[name] = client.get("/passwordreset/methods/").content.decode()
        questions = client.get("/passwordreset/questions/")
        pages[name] = (pages[name], questions.status_code, questions.get("Location", ""))
    for name in (address, "nobody@example.org"):
        page, status, location = pages[name]
        assert note in page and "/passwordreset/questions/" not in page
        assert status == 302 and location == "/passwordreset/methods/"
    page, status, _location = pages["ada"]
    assert note not in page and "/passwordreset/questions/" in page and status == 200


def test_a_leavers_row_with_the_same_mail_does_not_hide_the_person(slapd, settings, make_user):
    """The sync keeps a leaver's row, turned off, with its mail: a mail handed on to Ada
    still names her."""
    from directory.sync import sync_directory

    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    registered()
    address = entry(slapd, "ada", "mail")["mail"][0]
    make_user("left-long-ago", email=address.upper(), is_active=False)
    assert _reset_code_sent(Client(), address)


# --- A directory that hangs (§41) ---------------------------------------------------------------


class Tarpit:
    """Accepts connections and never answers, like a directory that has hung."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hung(settings, slapd, db):
    tarpit = Tarpit()
    environment = {
        **slapd.environment(),
        "LDAP_URI": f"ldap://127.0.0.1:{tarpit.port}",
        "LDAP_TIMEOUT": "1",
    }
    use_directory(settings, environment)
    yield tarpit
    tarpit.close()
    from directory.accounts import reset_caches

    reset_caches()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_hung_directory_costs_one_timeout_then_the_breaker_answers_at_once(hung):
    pages = [
        lambda: directory_sign_in(Client(), "ada", ADA_PASSWORD),
        lambda: Client().post("/admin/login/", {"username": "ada", "password": ADA_PASSWORD}),
        lambda: directory_sign_in(Client(), "nobody", "whatever-it-is"),
    ]
    for page in pages:
        response, seconds = timed(page)
        assert response.status_code == 503
        assert "The account directory is unavailable" in response.content.decode()
        assert seconds < 1.9, seconds  # one timeout of 1 s, not two
    # Three failures in a row: the breaker is open, and answers without waiting.
    response, seconds = timed(pages[0])
    assert response.status_code == 503 and seconds < 0.5, seconds
    assert not AccessAttempt.objects.exists()  # an outage counts toward no lockout
    assert not Event.objects.filter(kind=EventKind.SIGN_IN_FAILED).exists()


def test_signed_in_pages_say_the_same_when_the_directory_hangs(slapd, directory, settings):
    client = signed_in()
    tarpit = Tarpit()
    try:
        use_directory(
            settings,
            {
                **slapd.environment(),
                "LDAP_URI": f"ldap://127.0.0.1:{tarpit.port}",
                "LDAP_TIMEOUT": "1",
            },
        )
        response, seconds = timed(
            lambda: client.post("/ssprsetup/confirm-password/", {"password": ADA_PASSWORD})
        )
        assert response.status_code == 503, response.content.decode()
        assert "The account directory is unavailable" in response.content.decode()
        assert seconds < 1.9
        response, seconds = timed(lambda: post_change(client))
        assert response.status_code == 503
        assert "cannot be reached just now" in response.content.decode()
        assert seconds < 1.9
    finally:
        tarpit.close()
    assert not AccessAttempt.objects.exists()


# --- A right the service account lacks (§43) ---------------------------------------------------


def take_away_unlock_right(slapd) -> None:
    """The service account may read the lockout attributes but no longer clear them."""
    import ldap

    from directory.servers import SERVICE_DN

    conn = slapd.connect(ROOT_DN)
    try:
        conn.modify_s(
            "olcDatabase={1}mdb,cn=config",
            [
                (
                    ldap.MOD_DELETE,
                    "olcAccess",
                    [b"{1}"],
                ),
                (
                    ldap.MOD_ADD,
                    "olcAccess",
                    [
                        f"{{1}}to attrs=pwdAccountLockedTime,pwdFailureTime,pwdReset "
                        f'by dn.exact="{SERVICE_DN}" read by self read by * none'.encode()
                    ],
                ),
            ],
        )
    finally:
        conn.unbind_s()


def lock_in_directory(slapd, uid: str) -> None:
    from tests.support.directory import lock_out

    lock_out(slapd, uid)
    assert is_locked_in_directory(slapd, uid)


def test_an_unlock_the_service_account_may_not_make_is_explained_and_audited(
    client, slapd, directory
):
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    registered()
    take_away_unlock_right(slapd)
    lock_in_directory(slapd, "ada")
    from tests.support.resets import start_reset

    start_reset(client, "ada", action="unlock")
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    import re

    from django.core import mail

    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    client.post("/passwordreset/email/code/", {"code": code})
    response = client.post("/passwordreset/finish/", {})
    assert response.status_code == 503
    assert "refused to make this change, so nothing was changed" in response.content.decode()
    refused = Event.objects.get(kind=EventKind.DIRECTORY_REFUSED)
    assert refused.details == {"operation": "unlock", "error": "INSUFFICIENT_ACCESS"}
    assert not Event.objects.filter(kind=EventKind.ACCOUNT_UNLOCKED).exists()
    assert is_locked_in_directory(slapd, "ada")


def deploy_check(settings, environment: dict) -> str:
    use_directory(settings, environment)
    settings.SSPR_LOCKOUT_FAILURES = 5
    from io import StringIO

    out = StringIO()
    try:
        call_command("check", "--deploy", "--tag", "security", stdout=out, stderr=out)
    except SystemCheckError as error:
        return str(error) + out.getvalue()
    return out.getvalue()


def test_the_deploy_check_proves_the_service_accounts_rights(slapd, settings, db):
    report = deploy_check(settings, {**slapd.environment(), "LDAP_RIGHTS_CHECK_USER": "grace"})
    assert "sspr.W012" in report and "uses 2" in report  # 5 is not below the threshold of 3
    assert "sspr.E015" not in report
    assert not binds(slapd, "grace", "Grace-Directory-2026")  # its password was proven settable
    take_away_unlock_right(slapd)
    report = deploy_check(settings, {**slapd.environment(), "LDAP_RIGHTS_CHECK_USER": "grace"})
    assert "sspr.E015" in report and "cannot clear the lockout on grace" in report
    assert "cannot set a password" not in report
    report = deploy_check(settings, slapd.environment())
    assert "sspr.W013" in report


# --- What operators see (README, "Metrics, logs and the audit stream") -------------------------


def _directory_count(operation: str, outcome: str) -> float:
    from prometheus_client import REGISTRY

    name = "sspr_directory_operation_duration_seconds_count"
    return REGISTRY.get_sample_value(name, {"operation": operation, "outcome": outcome}) or 0


def test_directory_operations_are_timed_by_outcome(slapd, directory, settings):
    ok = _directory_count("read", "ok")
    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    assert _directory_count("read", "ok") > ok
    unavailable = _directory_count("read", "unavailable")
    slapd._terminate()
    from directory.accounts import DirectoryUnavailable, accounts

    with pytest.raises(DirectoryUnavailable):
        accounts().check()
    assert _directory_count("read", "unavailable") == unavailable + 1


@pytest.mark.parametrize("action", ["unlock", "reset"])
def test_after_an_unlock_or_reset_the_mail_she_typed_signs_in_again(slapd, settings, action):
    """Ada signs in with her mail, as the page invites, and mistypes until the site holds that
    spelling back; its page sends her to the portal with what she typed. Once she proved who
    she is there, "Your account is unlocked" (or "Your password is changed") is true for her
    mail too, not only for her username."""
    import re

    from django.core import mail

    from directory.sync import sync_directory
    from tests.support.resets import shows_done_page, shows_finish_page, start_reset

    cache.clear()
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": BY_MAIL})
    sync_directory()
    registered()
    address = entry(slapd, "ada", "mail")["mail"][0]
    for _ in range(2):
        directory_sign_in(Client(), address, "not-her-password")
    held = directory_sign_in(Client(), address, ADA_PASSWORD)
    assert held.status_code == 429 and "action=unlock" in held.content.decode()
    client = Client()
    start_reset(client, address, action=action)
    client.post("/passwordreset/email/", {"email": "ada.home@example.net"})
    code = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)[-1]
    assert shows_finish_page(client.post("/passwordreset/email/code/", {"code": code}))
    posted = (
        {} if action == "unlock" else {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(client.post("/passwordreset/finish/", posted), outcome=action)
    password = ADA_PASSWORD if action == "unlock" else NEW_PASSWORD
    assert directory_sign_in(Client(), address, password).status_code == 302


def test_a_lockout_that_ended_by_itself_is_not_called_locked(slapd, directory):
    """Under a policy whose lockouts end by themselves (pwdLockoutDuration), once the time has
    passed the directory lets the person in again: the site no longer says "locked". The
    failures it kept still make one more wrong password lock the account again, so the site
    still does not try one (§40), and its pages say so (tries_held)."""
    import time

    import ldap

    from directory.accounts import accounts
    from directory.servers import POLICY_DN
    from tests.support.directory import lock_out

    directory_sign_in(Client(), "ada", ADA_PASSWORD)
    conn = slapd.connect()
    conn.modify_s(POLICY_DN, [(ldap.MOD_REPLACE, "pwdLockoutDuration", [b"2"])])
    conn.unbind_s()
    lock_out(slapd, "ada")
    ada = get_user_model().objects.get(username="ada")
    assert accounts().status(ada).locked
    time.sleep(2.5)
    assert binds(slapd, "ada", ADA_PASSWORD)  # the directory lets her in
    lock_out(slapd, "ada")
    time.sleep(2.5)
    status = accounts().status(ada)
    assert not status.locked and status.tries_held
