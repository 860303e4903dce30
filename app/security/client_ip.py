"""The client's IP address for rate limits and records; ``X-Forwarded-For`` believed only from trusted hops.

Example::

    client_ip("10.0.0.5", "203.0.113.7, 10.0.0.9", [ip_network("10.0.0.0/8")])  # "203.0.113.7"
    client_ip("198.51.100.1", "203.0.113.7", [ip_network("10.0.0.0/8")])  # "198.51.100.1": peer not trusted

The walk goes right to left because only the right end of the header is written by proxies we trust;
everything to the left of the first untrusted address may have been typed by the client.

Rate limits count a client by :func:`limit_key`: an IPv4 address as it is, an IPv6 address by its /64, the
prefix one client (one home, one host on a LAN with privacy addresses) controls whole::

    limit_key("2001:db8:1:2:aaaa::1")  # "2001:db8:1:2::/64"
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: What :func:`client_ip` returns when there is no peer address at all (e.g. a test transport).
UNKNOWN = "unknown"
#: Hops looked at before giving up: a longer chain is an attack or a loop, not a deployment.
MAX_HOPS = 32

#: The IPv6 prefix length a single client controls (RFC 4291's interface identifiers, RFC 8981 privacy
#: addresses: any host may use any of its /64's 2^64 addresses, and change them at will).
IPV6_CLIENT_PREFIX = 64

_V4_WITH_PORT = re.compile(r"([0-9.]+):[0-9]{1,5}")
_V6_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::[0-9]{1,5})?")


def parse_address(text: str) -> Address | None:
    """One ``X-Forwarded-For`` entry (``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``) or None."""
    text = text.strip()
    match = _V4_WITH_PORT.fullmatch(text) or _V6_BRACKETED.fullmatch(text)
    if match is not None:
        text = match.group(1)
    if "%" in text:
        return None  # zone ids name an interface of some other host; not an address to key on
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket is the same client as its IPv4 form.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_ip(peer: str | None, x_forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The peer, or when the peer is a trusted proxy the right-most untrusted ``X-Forwarded-For`` entry.

    Several ``X-Forwarded-For`` headers are joined with ``,`` by the caller, in the order received.
    """
    if peer is None or peer == "":
        return UNKNOWN
    current = parse_address(peer)
    if current is None:
        return peer  # e.g. a unix socket name: nothing to walk from
    if not trusted or not _trusted(current, trusted) or not x_forwarded_for:
        return str(current)
    entries = x_forwarded_for.split(",")
    for entry in reversed(entries[-MAX_HOPS:]):
        hop = parse_address(entry)
        if hop is None:
            break  # garbage: whatever lies to the left of it cannot be believed
        current = hop
        if not _trusted(hop, trusted):
            break
    return str(current)


def limit_key(ip: str) -> str:
    """The client as rate limits count it: an IPv4 address (or a non-address) as is, IPv6 as its /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # UNKNOWN, a unix socket name: nothing to widen
    if isinstance(address, ipaddress.IPv4Address):
        return ip
    return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
