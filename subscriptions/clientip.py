"""The client's address behind reverse proxies: TRUSTED_PROXIES (addresses or CIDR networks)
name the proxies whose X-Forwarded-For may be believed. Only when the connecting address is one
of them is the header read, from the right: the first hop that is not a trusted proxy is the
client (anything to its left could have been written by the client itself). Rate limits and
the consent record use this address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> list[Network]:
    """TRUSTED_PROXIES as networks ("10.0.0.0/8", "192.0.2.7", "::1"); ImproperlyConfigured
    names a value that is neither an address nor a network."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {text!r} is not an IP address or network") from exc
    return networks


def _address(value: str) -> Address | None:
    text = value.strip().strip('"')
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:8080"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest, networks: Sequence[Network] | None = None) -> str | None:
    """The client's IP address (None if the connection's address is unusable)."""
    trusted = parse_networks(settings.TRUSTED_PROXIES) if networks is None else networks
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not trusted or not _trusted(peer, trusted):
        return str(peer)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a garbled hop: believe nothing further left
        if not _trusted(address, trusted):
            return str(address)
    return str(peer)
