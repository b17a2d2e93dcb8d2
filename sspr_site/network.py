"""Where a request really comes from, for every per-address limit, django-axes and the audit log.

Behind a reverse proxy every connection comes from the proxy. The proxy appends the address it
saw to X-Forwarded-For; anything left of that was written by the client and can be forged. So
the header is read only when the connection itself comes from a trusted proxy
(SSPR_TRUSTED_PROXIES), and then from the right: trusted proxies are skipped and the first
address that is not one of them is the client (docs/security.md, "Client address").
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.http import HttpRequest

from .conf import app_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(app_settings.TRUSTED_PROXIES))


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the IPv4 client.
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or the right-most untrusted X-Forwarded-For entry
    when REMOTE_ADDR is a trusted proxy. None when there is no request or no valid address.
    Worked out once a request (its limits, the audit, the request log each ask), for the
    headers it was read from."""
    if request is None:
        return None
    meta = request.META
    seen = (meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"))
    kept = request.__dict__.get("_sspr_client")
    if kept is not None and kept[0] == seen:
        return kept[1]
    address = _client_address(request)
    request.__dict__["_sspr_client"] = (seen, address)
    return address


def _client_address(request: HttpRequest) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    networks = trusted_proxies()
    if not networks or not _trusted(remote, networks):
        return str(remote)
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A malformed entry: nothing left of it can be trusted. The last good one stands.
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def limit_key(address: str | None) -> str | None:
    """What a per-address limit counts `address` (client_address) under: an IPv4 address as it
    is, an IPv6 address by its /64 network. One line or one customer's network is given a /64,
    and each of its 2^64 addresses is no fresh budget (docs/security.md, "Client address").
    The audit log and the lockout keep the address itself."""
    parsed = _address(address or "")
    if parsed is None or parsed.version == 4:
        return address
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))
