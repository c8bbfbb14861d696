"""Refuse hosts that resolve to loopback, private, link-local or otherwise non-public addresses.

`is_public` judges one address, IPv4 carried inside IPv6 included (mapped, compatible, NAT64, 6to4,
Teredo): every IPv4 address an IPv6 one can carry must be public too. `checked_addresses` resolves a
host once and returns the addresses that passed; the fetcher connects to exactly those (see
`fetch/pinned.py`), so a DNS answer that changes after the check is never used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""host, port -> the addresses the host resolves to (raises socket.gaierror when it does not)."""

IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
"""RFC 8215: for networks' own translators, never a public destination."""


class AddressRefused(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address this IPv6 address carries (or may carry) by a standard translation."""
    carried: list[ipaddress.IPv4Address] = []
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        carried.append(ip.ipv4_mapped)
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are judged as IPv6 themselves
        carried.append(low32)
    if ip in NAT64_WELL_KNOWN:
        carried.append(low32)
    if ip in NAT64_LOCAL_USE:  # RFC 6052 layouts for /48, /56, /64 and /96 prefixes (bits 64-71 are zero)
        value = int(ip)
        layouts = [((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF,
                   ((value >> 64) & 0xFF) << 24 | (value >> 32) & 0xFFFFFF,
                   (value >> 24) & 0xFFFFFFFF,
                   value & 0xFFFFFFFF]
        carried.extend(ipaddress.IPv4Address(layout) for layout in layouts)
    if ip.sixtofour is not None:
        carried.append(ip.sixtofour)
    if ip.teredo is not None:
        carried.extend(ip.teredo)
    return carried


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        carried = embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:
            return all(_public(v4) for v4 in carried)
        if not all(_public(v4) for v4 in carried):
            return False
    return _public(ip)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The host as an IP address when it is one (brackets and an IPv6 zone allowed), else None."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None
    return bare


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_addresses(host: str, port: int, allow_private: bool = False,
                            resolver: Resolver = system_resolver) -> list[str]:
    """The host's addresses, in the resolver's order, each one checked; AddressRefused when the host
    does not resolve or (unless private addresses are allowed) any address it resolves to is not public."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list(dict.fromkeys(await resolver(host, port)))
        except (socket.gaierror, UnicodeError) as exc:
            raise AddressRefused("dns_error", f"{host}: does not resolve ({exc})") from exc
        if not addresses:
            raise AddressRefused("dns_error", f"{host}: resolves to no address")
    if not allow_private:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise AddressRefused(
                "private_address",
                f"{host} resolves to {', '.join(private)}: not a public address "
                "(set research.allow_private_addresses to fetch it)",
            )
    return addresses

