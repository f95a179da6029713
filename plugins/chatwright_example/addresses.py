"""Which addresses ``fetch_url`` may connect to: public ones only (against SSRF).

A model that reads untrusted pages can be talked into asking for
``http://169.254.169.254/`` (cloud credentials) or ``http://localhost:8080/admin``, so
every address a host name resolves to is checked, and the one connected to is the one
checked (see ``fetcher.py``): a DNS answer that changes between the check and the
connection (rebinding) cannot slip a private address in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

__all__ = ["Resolver", "refusal", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses it resolves to, as text ("93.184.215.14", "2606:2800::1").
Resolver = Callable[[str, int], Awaitable[list[str]]]

# IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052/8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, resolved without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why ``address`` may not be fetched ("loopback", "private", ...), or None."""
    ip = ipaddress.ip_address(address)
    for candidate in (ip, *_embedded_ipv4(ip)):
        reason = _reason(candidate)
        if reason:
            return reason
    return None


def _reason(ip: IPAddress) -> str | None:
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        # Not global yet none of the above: shared address space (100.64/10) and the like.
        ("not public", not ip.is_global),
    )
    return next((name for name, refused in checks if refused), None)


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    # An IPv6 address can route to an IPv4 one (mapped, 6to4, Teredo, NAT64): check that too.
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in network for network in _NAT64):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in embedded if address is not None]
