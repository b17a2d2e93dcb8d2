"""One client address for every limit, django-axes and the audit log (docs/security.md)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory

from audit.models import Event, EventKind
from directory.lockout import lockout_key
from sspr_site.network import client_address, limit_key
from tests.support.resets import start_reset

PROXY = "10.0.0.5"


def address(settings, remote: str, forwarded: str | None = None, trusted=(PROXY,)) -> str | None:
    settings.SSPR_TRUSTED_PROXIES = list(trusted)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_forwarding_header_is_ignored_without_trusted_proxies(settings):
    assert address(settings, "203.0.113.9", "198.51.100.1", trusted=()) == "203.0.113.9"


def test_forwarding_header_is_ignored_from_an_untrusted_connection(settings):
    assert address(settings, "203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_the_right_most_untrusted_entry_is_the_client(settings):
    # The client forged the left entry; the proxy appended what it saw.
    assert address(settings, PROXY, "1.2.3.4, 198.51.100.7") == "198.51.100.7"


def test_several_trusted_hops_are_skipped(settings):
    forwarded = "1.2.3.4, 198.51.100.7, 10.1.0.2"
    assert address(settings, PROXY, forwarded, trusted=("10.0.0.0/8",)) == "198.51.100.7"


def test_a_malformed_entry_stops_the_walk(settings):
    assert address(settings, PROXY, "198.51.100.7, not-an-ip") == PROXY
    assert address(settings, PROXY, "<script>, 198.51.100.7") == "198.51.100.7"


def test_ipv6_clients_and_mapped_addresses(settings):
    assert address(settings, PROXY, "2001:db8::1") == "2001:db8::1"
    assert address(settings, "::ffff:203.0.113.9") == "203.0.113.9"


def test_no_header_from_a_trusted_proxy_means_the_proxy(settings):
    assert address(settings, PROXY) == PROXY


def behind_proxy(settings, client_ip: str) -> Client:
    settings.SSPR_TRUSTED_PROXIES = [PROXY]
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {client_ip}")


@pytest.mark.django_db
def test_sign_in_failures_behind_a_proxy_limit_only_the_one_client(settings, user):
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 3
    noisy, other = behind_proxy(settings, "198.51.100.1"), behind_proxy(settings, "198.51.100.2")
    for attempt in range(3):
        data = {"username": f"nobody{attempt}", "password": "wrong"}
        assert noisy.post("/ssprsetup/signin/", data).status_code == 200
    assert noisy.post("/ssprsetup/signin/", {"username": "x", "password": "y"}).status_code == 429
    # Everyone else behind the same proxy still signs in.
    response = other.post("/ssprsetup/signin/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    attempt = AccessAttempt.objects.filter(username=lockout_key("alice")).get()
    assert attempt.ip_address == "198.51.100.2"
    assert not AccessAttempt.objects.filter(ip_address=PROXY).exists()


@pytest.mark.django_db
def test_reset_starts_behind_a_proxy_are_limited_per_client(settings, make_user):
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 2
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    noisy, other = behind_proxy(settings, "198.51.100.1"), behind_proxy(settings, "198.51.100.2")
    assert start_reset(noisy, "a", action=None).status_code == 302
    assert start_reset(noisy, "b", action=None).status_code == 302
    refused = start_reset(noisy, "c", action=None)
    assert refused.status_code == 429
    # The network's count, not the name's: it says an hour, not a day or the helpdesk.
    page = refused.content.decode()
    assert "Too many password resets were started from your network in the last hour" in page
    assert "tomorrow" not in page
    assert start_reset(other, "d", action=None).status_code == 302
    ips = set(Event.objects.filter(kind=EventKind.RESET_STARTED).values_list("ip", flat=True))
    assert ips == {"198.51.100.1", "198.51.100.2"}


@pytest.mark.django_db
def test_code_send_limits_per_address_count_the_client(settings, make_user):
    from tests.support.people import sign_in

    settings.SSPR_SEND_LIMITS = {"ip": 1}
    clients = []
    for name, ip in (("ann", "198.51.100.1"), ("bob", "198.51.100.1"), ("cat", "198.51.100.2")):
        make_user(name)
        client = behind_proxy(settings, ip)
        assert sign_in(client, name).status_code == 302
        clients.append(client)
    statuses = [
        client.post("/ssprsetup/email/", {"email": f"home{index}@example.net"}).status_code
        for index, client in enumerate(clients)
    ]
    # ann sends; bob shares ann's address and is refused; cat has another address.
    assert statuses == [200, 429, 200]  # 200: the code page


@pytest.mark.django_db
def test_every_sign_in_page_shares_one_limit_per_address(settings, make_user):
    """Failures on any sign-in page (the site's, the pass's, the admin's) count toward one
    limit per client address, and past it no page tries a password, the admin's included:
    spraying one password over many names cannot move to another page to go on."""
    from tests.support.people import PASSWORD

    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 3
    make_user("root", staff=True, is_superuser=True)
    noisy, other = behind_proxy(settings, "198.51.100.1"), behind_proxy(settings, "198.51.100.2")
    assert noisy.post("/admin/login/", {"username": "n1", "password": "w"}).status_code == 200
    assert noisy.post("/ssprsetup/signin/", {"username": "n2", "password": "w"}).status_code == 200
    assert noisy.post("/ssprsetup/pass/", {"username": "n3", "access_pass": "w"}).status_code == 200
    # The limit is reached: the right password of an administrator is not tried.
    refused = noisy.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in noisy.session
    assert "Too many failed sign-ins from your network" in refused.content.decode()
    page = noisy.post("/ssprsetup/signin/", {"username": "root", "password": PASSWORD})
    assert page.status_code == 429
    # Not counted against the name either: nothing was tried.
    assert not AccessAttempt.objects.filter(username=lockout_key("root")).exists()
    # Another address is not held back.
    signed_in = other.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert signed_in.status_code == 302 and other.session.get("_auth_user_id")


@pytest.mark.django_db
def test_a_sign_in_sent_with_a_field_left_empty_is_not_a_failure(settings, make_user):
    """Only a name and password (or pass) that were checked and refused count toward the
    address's limit; a button pressed with nothing typed does not."""
    from registration.address_limit import failures

    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 3
    client = behind_proxy(settings, "198.51.100.7")
    for _ in range(5):
        client.post("/ssprsetup/signin/", {"username": "", "password": ""})
        client.post("/ssprsetup/pass/", {"username": "rita", "access_pass": ""})
        client.post("/admin/login/", {"username": "", "password": ""})
    request = RequestFactory().post("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert failures(request) == 0
    assert client.post("/ssprsetup/signin/", {"username": "x", "password": "y"}).status_code == 200
    assert failures(request) == 1


def test_a_request_is_read_once_and_again_if_its_headers_change(settings, monkeypatch):
    settings.SSPR_TRUSTED_PROXIES = [PROXY]
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    from sspr_site import network

    reads = []
    real = network._client_address
    monkeypatch.setattr(network, "_client_address", lambda r: reads.append(1) or real(r))
    assert client_address(request) == client_address(request) == "198.51.100.7"
    assert len(reads) == 1
    request.META["HTTP_X_FORWARDED_FOR"] = "198.51.100.8"
    assert client_address(request) == "198.51.100.8"
    assert len(reads) == 2


def test_an_ipv6_network_is_one_address_for_the_limits(settings, make_user):
    """The addresses of one /64 are one client for the per-address limits (each would
    otherwise be a fresh budget); another /64 is another client, and the audit log keeps
    each address itself."""
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 2
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    statuses = [
        start_reset(
            Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}"), f"n{n}", action=None
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert start_reset(Client(REMOTE_ADDR="2001:db8:1:3::1"), "m", action=None).status_code == 302
    ips = set(Event.objects.filter(kind=EventKind.RESET_STARTED).values_list("ip", flat=True))
    assert ips == {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::1"}


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        (None, None),
    ],
)
def test_the_limit_key_of_an_address(address, key):
    assert limit_key(address) == key
