"""Connect to the address that was checked, nothing else.

httpx would resolve a host name again when it connects, so an answer that changed after the address
guard's check (DNS rebinding) would be used unchecked. `PinnedTransport` gives httpx a network backend
that resolves the host itself, checks every address (`checked_addresses`) and opens the TCP connection
to one of exactly those addresses. The URL keeps its host name, so the `Host` header and the TLS server
name (SNI, and the certificate check) are those of the host; every connection, and so every redirect
hop, goes through the same check.
"""

from __future__ import annotations

import typing

import httpcore
import httpx

from sftgen.fetch.address_guard import Resolver, checked_addresses, system_resolver


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver):
        self.allow_private = allow_private
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()
        self.connections: list[tuple[str, int, str]] = []
        """(host, port, address) of every connection opened: what was checked is what was used."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self.allow_private, self.resolver)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self.connections.append((host, port, address))
            return stream
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the fetcher connects to checked TCP addresses only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (TLS, HTTP/1.1, pooling per host name) over a `PinnedBackend`. It connects
    directly: proxies from the environment are not used, since the proxy would resolve the name."""

    def __init__(self, allow_private: bool = False, resolver: Resolver = system_resolver):
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        self.backend = PinnedBackend(allow_private, resolver)
        self._pool = httpcore.AsyncConnectionPool(  # httpx's own pool, but over the pinned backend
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=self.backend,
        )
