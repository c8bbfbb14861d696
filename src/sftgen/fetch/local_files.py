"""`local://<path relative to the project>[#L<n>]` (or `local:///<absolute path>` inside a corpus folder the
recipe names outside the project): documents of a local search corpus, read from disk."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sftgen.fetch.page import FetchedPage, refused
from sftgen.ingest.documents import RawDocument
from sftgen.ingest.readers import ReadOutcome, read_documents
from sftgen.turns import call_batch

LOCAL_SCHEME = "local://"


@dataclass
class HeldRead:
    outcome: ReadOutcome
    chars: int
    by_source: dict[str, RawDocument] = field(default_factory=dict)
    """The outcome's documents by source name, the first of a name winning (a JSONL file's rows: one lookup
    per hit, not a walk over the rows)."""


@dataclass(frozen=True)
class Place:
    """Where a local:// path leads once resolved, and whether that is inside the allowed folders."""

    root: Path
    """The resolved project folder."""
    path: Path
    allowed: bool


class LocalReads:
    """The run's local reads: where each local:// path resolves to and whether it may be read (resolved and
    checked once per distinct path), and the last reads of the files, by path, size and modification time:
    the answer search finds the same few files for many queries, and a file is decoded once, not once per
    hit. The reads are bounded by the characters held, the places by their count."""

    MAX_PLACES = 100_000

    def __init__(self, max_chars: int = 64_000_000):
        self.max_chars = max_chars
        self.held: OrderedDict[tuple, HeldRead] = OrderedDict()
        self.chars = 0
        self.places: dict[tuple, Place] = {}
        self.lock = threading.Lock()
        self.batch = call_batch()
        """The reads asked for in one turn of the event loop go to one worker thread together."""

    def place(self, project_dir: Path, relative: str, corpus_roots: tuple[Path, ...]) -> Place:
        key = (project_dir, relative, corpus_roots)
        found = self.places.get(key)
        if found is None:
            root = project_dir.resolve()
            path = (root / relative).resolve()
            found = Place(root, path, any(path.is_relative_to(allowed) for allowed in (root, *corpus_roots)))
            with self.lock:
                if len(self.places) >= self.MAX_PLACES:
                    self.places.clear()
                self.places[key] = found
        return found

    def read(self, path: Path, max_bytes: int, max_pdf_pages: int | None) -> HeldRead | None:
        """The file's documents, or None when `path` is no regular file (missing, a folder; or a symlink:
        `path` is resolved, so a link there now was put in place since it was checked)."""
        try:
            status = os.lstat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        key = (path, status.st_size, status.st_mtime_ns, max_bytes, max_pdf_pages)
        with self.lock:
            if (held := self.held.get(key)) is not None:
                self.held.move_to_end(key)
                return held
        outcome = read_documents(path, root=path.parent, max_bytes=max_bytes, max_pdf_pages=max_pdf_pages)
        held = HeldRead(outcome, sum(len(document.text) for document in outcome.documents))
        for document in outcome.documents:
            held.by_source.setdefault(document.source, document)
        with self.lock:
            if key not in self.held and held.chars <= self.max_chars:
                self.held[key] = held
                self.chars += held.chars
                while self.chars > self.max_chars:
                    _, freed = self.held.popitem(last=False)
                    self.chars -= freed.chars
        return held


async def read_local(url: str, project_dir: Path | None, max_bytes: int,
                     max_pdf_pages: int | None = None, corpus_roots: tuple[Path, ...] = (),
                     reads: LocalReads | None = None) -> FetchedPage:
    return await asyncio.to_thread(read_local_now, url, project_dir, max_bytes, max_pdf_pages, corpus_roots, reads)


async def read_local_many(urls: Sequence[str], project_dir: Path | None, max_bytes: int,
                          max_pdf_pages: int | None = None, corpus_roots: tuple[Path, ...] = (),
                          reads: LocalReads | None = None) -> list[FetchedPage | Exception]:
    """One page or refusal per URL, read in one worker thread with the other reads asked for in this turn of
    the event loop (`reads`' batch); a read that fails in an unforeseen way is that URL's exception, the
    others are read all the same."""
    reads = reads if reads is not None else LocalReads()
    return await reads.batch.submit((read_all, (urls, project_dir, max_bytes, max_pdf_pages, corpus_roots, reads)))


def read_all(urls: Sequence[str], project_dir: Path | None, max_bytes: int, max_pdf_pages: int | None,
             corpus_roots: tuple[Path, ...], reads: LocalReads) -> list[FetchedPage | Exception]:
    pages: list[FetchedPage | Exception] = []
    for url in urls:
        try:
            pages.append(read_local_now(url, project_dir, max_bytes, max_pdf_pages, corpus_roots, reads))
        except Exception as exc:  # noqa: BLE001 - one URL's failure is its own
            pages.append(exc)
    return pages


def read_local_now(url: str, project_dir: Path | None, max_bytes: int, max_pdf_pages: int | None = None,
                   corpus_roots: tuple[Path, ...] = (), reads: LocalReads | None = None) -> FetchedPage:
    """`corpus_roots`: resolved folders outside the project that local:// URLs may read too. With `reads`
    (the run's), a path is resolved and checked once and a file decoded once while it is unchanged."""
    if project_dir is None:
        return refused(url, "bad_url", f"{url}: local:// URLs need a project folder")
    relative, _, fragment = url[len(LOCAL_SCHEME):].partition("#")
    reads = reads if reads is not None else LocalReads()
    place = reads.place(project_dir, relative, corpus_roots)
    if not place.allowed:
        return refused(url, "outside_project", f"{url}: leaves the project folder {place.root}"
                       + (" and the local search corpus" if corpus_roots else ""))
    path = place.path
    held = reads.read(path, max_bytes, max_pdf_pages)
    if held is None:
        return refused(url, "not_found", f"{url}: no such file {path}")
    wanted = path.name + (f"#{fragment}" if fragment else "")
    document = held.by_source.get(wanted)
    if document is not None:
        return FetchedPage(url=url, ok=True, final_url=url, text=document.text, title=document.title,
                           format=document.format, content_type="local")
    for problem in held.outcome.problems:
        if problem.source in (wanted, path.name):
            reason = problem.reason if problem.reason in ("too_large", "too_many_pages") else "parse_error"
            return refused(url, reason, problem.detail)
    return refused(url, "not_found", f"{url}: {wanted} has no such document")
