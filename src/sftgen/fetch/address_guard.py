"""Refuse hosts that resolve to loopback, private, link-local or otherwise non-public addresses.

The host is resolved before any connection, and every address it resolves to must be public. (A host
whose DNS answer changes between this check and the connection is not caught; run the fetcher behind
an egress proxy when that matters.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket


class AddressRefused(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_host(host: str, port: int) -> list[str]:
    """The host's addresses; AddressRefused when it does not resolve or any address is not public."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise AddressRefused("dns_error", f"{host}: does not resolve ({exc})") from exc
        addresses = sorted({str(info[4][0]) for info in infos})
    private = [a for a in addresses if not is_public(a)]
    if private:
        raise AddressRefused(
            "private_address",
            f"{host} resolves to {', '.join(private)}: not a public address "
            "(set research.allow_private_addresses to fetch it)",
        )
    return addresses
