"""The address guard and the connection it allows.

- `is_public` unwraps IPv4 from every IPv6 form that carries it (mapped, compatible, NAT64, 6to4, Teredo):
  judged as a function on literals, never connected to.
- The fetcher connects to the address that was checked: names are resolved once per connection, by the
  guard, and the TCP connection goes to that address while `Host` and the TLS server name stay the
  host's (tested with a stub resolver for `.test` names, which no real resolver answers, and servers
  on 127.0.0.1), on every redirect hop.
- A malformed URL is a `bad_url` refusal of its own, and one bad hit never fails its query.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import pytest
from aiohttp import web

from sftgen.fetch import Fetcher
from sftgen.fetch.address_guard import AddressRefused, checked_addresses, embedded_ipv4, is_public
from sftgen.recipe.research_settings import Fetch
from tests.support.local_http import serving

NOT_PUBLIC = [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1%eth0", "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "::ffff:10.0.0.1",       # IPv4-mapped
    "::a9fe:a9fe", "::127.0.0.1", "::10.0.0.1",                       # IPv4-compatible
    "64:ff9b::a9fe:a9fe", "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1",  # NAT64, well-known prefix
    "64:ff9b:1::a9fe:a9fe", "64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1::808:808",  # NAT64 local use: never public
    "2002:a9fe:a9fe::1", "2002:7f00:1::", "2002:0a00:0001::1",        # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",                           # Teredo
]
PUBLIC = ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_that_are_or_carry_a_non_public_ipv4_are_refused(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_and_translations_of_public_ipv4_pass(address):
    assert is_public(address)


def test_the_ipv4_inside_each_ipv6_form_is_found():
    import ipaddress

    def carried(text):
        return [str(ip) for ip in embedded_ipv4(ipaddress.ip_address(text))]

    assert carried("::ffff:169.254.169.254") == ["169.254.169.254"]
    assert carried("::a9fe:a9fe") == ["169.254.169.254"]
    assert carried("64:ff9b::a9fe:a9fe") == ["169.254.169.254"]
    assert carried("2002:a9fe:a9fe::1") == ["169.254.169.254"]
    assert carried("64:ff9b:1:a9fe:a9:fe00::")[0] == "169.254.169.254"  # the /48 layout of RFC 6052
    assert "192.0.2.45" in carried("2001:0:4136:e378:8000:63bf:3fff:fdd2")  # Teredo's client


def stub_resolver(answers: dict[str, list[list[str]]], calls: list[str]):
    """Answers for each name in turn (the last one repeats); records every lookup."""
    async def resolve(host, port):
        calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        given = answers[host]
        return given[min(calls.count(host), len(given)) - 1]
    return resolve


def test_every_address_a_name_resolves_to_is_checked():
    calls: list[str] = []
    mixed = stub_resolver({"mixed.test": [["2606:4700:4700::1111", "::ffff:127.0.0.1"]]}, calls)
    with pytest.raises(AddressRefused) as refused:
        asyncio.run(checked_addresses("mixed.test", 80, resolver=mixed))
    assert refused.value.reason == "private_address" and "::ffff:127.0.0.1" in refused.value.detail
    with pytest.raises(AddressRefused) as unknown:
        asyncio.run(checked_addresses("nowhere.test", 80, resolver=mixed))
    assert unknown.value.reason == "dns_error"
    assert asyncio.run(checked_addresses("[::ffff:8.8.8.8]", 80, resolver=mixed)) == ["::ffff:8.8.8.8"]
    assert calls == ["mixed.test", "nowhere.test"]  # a literal is not looked up


def hosts_app(seen: list[tuple[str, str]]) -> web.Application:
    app = web.Application()

    async def page(request):
        seen.append((request.path, request.headers["host"]))
        return web.Response(text="Gluons carry colour charge. " * 20, content_type="text/plain")

    async def hop(request):
        seen.append((request.path, request.headers["host"]))
        raise web.HTTPFound(f"http://other.test:{request.url.port}/page")

    app.router.add_get("/page", page)
    app.router.add_get("/hop", hop)
    return app


def fetch_with(resolver, url: str, allow_private: bool = True):
    async def go():
        async with Fetcher(Fetch(timeout_s=5), allow_private=allow_private, resolver=resolver) as fetcher:
            page = await fetcher.fetch(url)
            return page, fetcher.connections

    return asyncio.run(go())


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept_on_every_hop():
    seen: list[tuple[str, str]] = []
    calls: list[str] = []
    with serving(hosts_app(seen)) as root:
        port = int(root.rsplit(":", 1)[1])
        # a rebinding name: 127.0.0.1 when checked, another address at any later lookup
        resolver = stub_resolver({"wiki.test": [["127.0.0.1"], ["127.0.0.2"]],
                                  "other.test": [["127.0.0.1"], ["127.0.0.2"]]}, calls)
        page, connections = fetch_with(resolver, f"http://wiki.test:{port}/hop")
    assert page.ok and page.final_url == f"http://other.test:{port}/page"
    assert seen == [("/hop", f"wiki.test:{port}"), ("/page", f"other.test:{port}")]
    assert connections == [("wiki.test", port, "127.0.0.1"), ("other.test", port, "127.0.0.1")]
    assert calls == ["wiki.test", "other.test"]  # one lookup per connection: the guard's own


def test_a_name_that_resolves_to_a_private_address_is_refused_before_any_connection():
    seen: list[tuple[str, str]] = []
    calls: list[str] = []
    with serving(hosts_app(seen)) as root:
        port = int(root.rsplit(":", 1)[1])
        resolver = stub_resolver({"rebind.test": [["127.0.0.1"]]}, calls)
        page, connections = fetch_with(resolver, f"http://rebind.test:{port}/page", allow_private=False)
    assert (page.ok, page.reason) == (False, "private_address") and "127.0.0.1" in page.detail
    assert seen == [] and connections == []


def test_tls_keeps_the_host_name_as_server_name():
    names: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def handshake_once():
        connection, _ = listener.accept()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no certificate: the handshake stops after the hello
        context.sni_callback = lambda _socket, name, _context: names.append(name)
        try:
            context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=handshake_once, daemon=True)
    thread.start()
    try:
        page, connections = fetch_with(stub_resolver({"secure.test": [["127.0.0.1"]]}, []),
                                       f"https://secure.test:{port}/page")
    finally:
        thread.join(10)
        listener.close()
    assert names == ["secure.test"]
    assert connections == [("secure.test", port, "127.0.0.1")]
    assert (page.ok, page.reason) == (False, "unreachable")


@pytest.mark.parametrize("url", ["http://[127.0.0.1]/", "http://[::1/", "http://example.test:99999/",
                                 "http://exa mple.test/", "http:///nohost", "http://[fe80::1%zz/"])
def test_a_malformed_url_is_a_bad_url_refusal_not_an_exception(url):
    page, connections = fetch_with(stub_resolver({}, []), url, allow_private=False)
    assert (page.ok, page.reason) == (False, "bad_url") and connections == []


def test_a_redirect_to_a_malformed_url_is_a_bad_url_refusal():
    app = web.Application()

    async def broken(request):
        return web.Response(status=302, headers={"Location": "http://[::1/admin"})

    app.router.add_get("/broken", broken)
    with serving(app) as root:
        async def go():
            async with Fetcher(Fetch(timeout_s=5), allow_private=True) as fetcher:
                return await fetcher.fetch_many([f"{root}/broken", "http://[127.0.0.1]/"])

        broken_page, bracketed = asyncio.run(go())
    assert (broken_page.reason, bracketed.reason) == ("bad_url", "bad_url")
    assert broken_page.final_url == f"{root}/broken" and "location" in broken_page.detail.lower()
