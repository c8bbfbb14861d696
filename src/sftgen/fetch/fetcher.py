"""Fetch pages politely and safely: per-host and overall concurrency limits, a time limit per page
(redirects included), a size limit enforced while streaming, content-type checks, redirects followed by
hand (capped, each hop's address checked again), private addresses refused, cleaned pages cached.
Connections go to the very address that was checked (`fetch/pinned.py`), and every URL a page records
is redacted (`fetch/redact.py`): the request uses the URL as given, what is kept never holds its secrets.

    async with make_fetcher(recipe, project_dir) as fetcher:
        page = await fetcher.fetch(url)     # FetchedPage: ok with text, or a refusal with a reason
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from sftgen.fetch.address_guard import AddressRefused, Resolver, checked_addresses, literal_address, system_resolver
from sftgen.fetch.extract import ExtractionFailed, clean, kind_of, media_type, needs_sniffing
from sftgen.fetch.local_files import LOCAL_SCHEME, LocalReads, read_local, read_local_many
from sftgen.fetch.page import FetchedPage, refused
from sftgen.fetch.page_cache import PageCache
from sftgen.fetch.pinned import PinnedTransport
from sftgen.fetch.redact import redact_url, redact_urls_in
from sftgen.recipe import Recipe
from sftgen.recipe.research_settings import Fetch

REDIRECT_CODES = (301, 302, 303, 307, 308)
HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
"""A host name as it goes on the wire (IDNA-encoded): letters, digits, hyphens, underscores and dots."""


class Fetcher:
    def __init__(self, settings: Fetch, allow_private: bool = False, cache_dir: Path | None = None,
                 project_dir: Path | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 resolver: Resolver = system_resolver, max_pdf_pages: int | None = None,
                 corpus_roots: tuple[Path, ...] = ()):
        self.settings = settings
        self.allow_private = allow_private
        self.cache = PageCache(cache_dir) if cache_dir is not None and settings.cache else None
        self.project_dir = project_dir
        self.corpus_roots = corpus_roots
        """Folders outside the project that local:// URLs may read (research.local.corpus)."""
        self.max_bytes = int(settings.max_page_mb * 1024 * 1024)
        self.max_pdf_pages = max_pdf_pages
        self.local_reads = LocalReads()
        if transport is None:
            transport = PinnedTransport(allow_private, resolver)
        self.pins_addresses = isinstance(transport, PinnedTransport)
        self.connections = transport.backend.connections if self.pins_addresses else []
        """(host, port, address) of every connection opened, the address being the one checked."""
        self.client = httpx.AsyncClient(
            timeout=settings.timeout_s,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept": accept_header(settings.content_types)},
        )
        self.overall = asyncio.Semaphore(settings.concurrency)
        self.per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str) -> FetchedPage:
        """The page, or a refusal with its reason; never raises for what the URL or the server does."""
        if url.startswith(LOCAL_SCHEME):
            return await read_local(url, self.project_dir, self.max_bytes, self.max_pdf_pages, self.corpus_roots,
                                    self.local_reads)
        if self.cache is not None and (cached := self.cache.get(redact_url(url))) is not None:
            return cached
        async with self.overall:
            try:
                page = await asyncio.wait_for(self.follow(url), self.settings.timeout_s)
            except (TimeoutError, httpx.TimeoutException):
                page = refused(url, "timeout", f"{url}: no complete answer within {self.settings.timeout_s}s")
            except (ValueError, UnicodeError, httpx.InvalidURL) as exc:  # a redirect to a malformed URL
                page = refused(url, "bad_url", f"{url}: {type(exc).__name__}: {exc}")
        page = recorded(page)
        if self.cache is not None:
            self.cache.put(page)
        return page

    async def fetch_many(self, urls: list[str]) -> list[FetchedPage]:
        """One page or refusal per URL, in order: one URL that fails in an unforeseen way is a
        `fetch_error` refusal of its own and never fails the others. The local:// URLs are read together
        in one worker thread."""
        local = [url for url in urls if url.startswith(LOCAL_SCHEME)]
        if len(local) == len(urls):  # the local search's hits: read without a task to gather them in
            try:
                read: list[FetchedPage | Exception] = await self.read_locals(local)
            except Exception as exc:  # noqa: BLE001 - as gather(return_exceptions=True) gives it below
                read = [exc] * len(local)
            return [recorded(refused(url, "fetch_error", f"{url}: {type(result).__name__}: {result}"))
                    if isinstance(result, Exception) else result for url, result in zip(urls, read)]
        remote = [url for url in urls if not url.startswith(LOCAL_SCHEME)]
        local_read, *remote_results = await asyncio.gather(
            self.read_locals(local), *(self.fetch(url) for url in remote), return_exceptions=True)
        if isinstance(local_read, BaseException):
            local_read = [local_read] * len(local)
        local_pages, remote_pages = iter(local_read), iter(remote_results)
        results = [next(local_pages) if url.startswith(LOCAL_SCHEME) else next(remote_pages) for url in urls]
        pages = []
        for url, result in zip(urls, results):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancelled: the run is stopping
            if isinstance(result, Exception):
                result = recorded(refused(url, "fetch_error", f"{url}: {type(result).__name__}: {result}"))
            pages.append(result)
        return pages

    async def read_locals(self, urls: list[str]) -> list[FetchedPage | Exception]:
        if not urls:
            return []
        return await read_local_many(urls, self.project_dir, self.max_bytes, self.max_pdf_pages, self.corpus_roots,
                                     self.local_reads)

    async def follow(self, url: str) -> FetchedPage:
        current, hops = url, []
        while True:
            problem = await self.check_url(url, current)
            if problem is not None:
                problem.redirects = hops
                return problem
            page, location = await self.get_once(url, current)
            if page is not None:
                page.redirects = hops
                return page
            hops.append(current)
            if len(hops) > self.settings.max_redirects:
                return refused(url, "too_many_redirects",
                               f"{url}: more than {self.settings.max_redirects} redirects", redirects=hops)
            current = urljoin(current, location)

    async def check_url(self, url: str, current: str) -> FetchedPage | None:
        """A refusal for a URL that is malformed, not http(s), or names a non-public IP address; host
        names are checked when the connection is made, against the addresses it is made to (here, with a
        transport given by the caller, which does not pin addresses)."""
        try:
            parts = urlsplit(current)
            host, port = parts.hostname, parts.port
            raw_host = httpx.URL(current).raw_host.decode("ascii")
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
            return refused(url, "bad_url", f"{current}: not a valid URL ({exc})")
        if parts.scheme not in ("http", "https") or not host:
            return refused(url, "bad_url", f"{current}: only http and https URLs are fetched")
        if literal_address(host) is None and not HOST_NAME.fullmatch(raw_host):
            return refused(url, "bad_url", f"{current}: {host!r} is not a valid host name")
        if self.allow_private or (self.pins_addresses and literal_address(host) is None):
            return None
        try:
            await checked_addresses(host, port or (443 if parts.scheme == "https" else 80))
        except AddressRefused as exc:
            return refused(url, exc.reason, exc.detail, final_url=current)
        return None

    async def get_once(self, url: str, current: str) -> tuple[FetchedPage | None, str | None]:
        """One request: (the page or a refusal, None), or (None, the Location of a redirect)."""
        async with self.host_slot(current):
            try:
                async with self.client.stream("GET", current) as response:
                    return await self.read_response(url, current, response)
            except httpx.TimeoutException:
                raise
            except AddressRefused as exc:  # the host resolved to an address that may not be fetched
                return refused(url, exc.reason, exc.detail, final_url=current), None
            except httpx.RemoteProtocolError as exc:
                reason = "bad_url" if "location header" in str(exc).lower() else "unreachable"  # a malformed redirect
                return refused(url, reason, f"{current}: {type(exc).__name__}: {exc}", final_url=current), None
            except httpx.HTTPError as exc:
                return refused(url, "unreachable", f"{current}: {type(exc).__name__}: {exc}", final_url=current), None

    async def read_response(
        self, url: str, current: str, response: httpx.Response
    ) -> tuple[FetchedPage | None, str | None]:
        status = response.status_code
        if status in REDIRECT_CODES and response.headers.get("location"):
            return None, response.headers["location"]
        fields = {"final_url": current, "status_code": status, "content_type": response.headers.get("content-type", "")}
        if status >= 400:
            return refused(url, "http_error", f"{current}: HTTP {status}", **fields), None
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return refused(url, "too_large", f"{current}: {declared} bytes declared, limit {self.max_bytes}",
                           **fields), None
        content_type = fields["content_type"]
        kind = None if needs_sniffing(content_type) else kind_of(content_type, b"")
        if not needs_sniffing(content_type) and not self.accepts(kind):
            return self.wrong_type(url, current, fields), None  # refused before reading the body
        raw = bytearray()
        async for part in response.aiter_bytes():
            raw.extend(part)
            if len(raw) > self.max_bytes:
                return refused(url, "too_large", f"{current}: more than {self.max_bytes} bytes", **fields), None
            if kind is None:  # no telling content type: sniff the first bytes before reading on
                kind = kind_of(content_type, bytes(raw[:512]))
                if not self.accepts(kind):
                    return self.wrong_type(url, current, fields), None
        if not raw:
            return refused(url, "empty", f"{current}: empty body", **fields), None
        return await self.cleaned(url, bytes(raw), kind, fields), None

    def accepts(self, kind: str | None) -> bool:
        return kind is not None and kind in self.settings.content_types

    def wrong_type(self, url: str, current: str, fields: dict) -> FetchedPage:
        declared = media_type(fields["content_type"]) or "no content type"
        return refused(url, "wrong_content_type",
                       f"{current}: {declared} is not one of {', '.join(self.settings.content_types)}", **fields)

    async def cleaned(self, url: str, raw: bytes, kind: str, fields: dict) -> FetchedPage:
        try:
            text = await asyncio.to_thread(clean, raw, kind, fields["content_type"], fields["final_url"],
                                           self.max_pdf_pages)
        except ExtractionFailed as exc:
            return refused(url, exc.reason, exc.detail, **fields)
        if not text.text.strip():
            return refused(url, "empty", f"{fields['final_url']}: no main text after cleaning", **fields)
        return FetchedPage(url=url, ok=True, text=text.text, title=text.title, format=text.format, **fields)

    def host_slot(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        if host not in self.per_host:
            self.per_host[host] = asyncio.Semaphore(self.settings.per_host_concurrency)
        return self.per_host[host]


def recorded(page: FetchedPage) -> FetchedPage:
    """The page as it may be kept: its URLs and the URLs in its messages without secrets."""
    page.url = redact_url(page.url)
    page.final_url = redact_url(page.final_url) if page.final_url else page.final_url
    page.redirects = [redact_url(hop) for hop in page.redirects]
    page.detail = redact_urls_in(page.detail)
    if page.title:
        page.title = redact_urls_in(page.title)
    return page


def accept_header(content_types: list[str]) -> str:
    accepted = {"html": "text/html,application/xhtml+xml", "pdf": "application/pdf", "text": "text/plain"}
    return ",".join(accepted[kind] for kind in content_types) + ";q=0.9,*/*;q=0.1"


def make_fetcher(recipe: Recipe, project_dir: Path, transport: httpx.AsyncBaseTransport | None = None) -> Fetcher:
    research = recipe.research
    return Fetcher(
        research.fetch,
        allow_private=research.allow_private_addresses,
        cache_dir=project_dir / ".sftgen" / "pages",
        project_dir=project_dir,
        transport=transport,
        max_pdf_pages=recipe.sources.max_pdf_pages,
        corpus_roots=corpus_roots(recipe, project_dir),
    )


def corpus_roots(recipe: Recipe, project_dir: Path) -> tuple[Path, ...]:
    """The local search corpus when it lies outside the project: its folder (a JSONL file: that file)."""
    corpus = recipe.research.local.path(project_dir)
    return () if corpus.is_relative_to(project_dir.resolve()) else (corpus,)
