"""`local://<path relative to the project>[#L<n>]` (or `local:///<absolute path>` inside a corpus folder the
recipe names outside the project): documents of a local search corpus, read from disk."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from pathlib import Path

from sftgen.fetch.page import FetchedPage, refused
from sftgen.ingest.readers import ReadOutcome, read_documents

LOCAL_SCHEME = "local://"


class LocalReads:
    """The run's last reads of local files, by path, size and modification time: the answer search finds
    the same few files for many queries, and a file is decoded once, not once per hit. Bounded by the
    characters held."""

    def __init__(self, max_chars: int = 64_000_000):
        self.max_chars = max_chars
        self.held: OrderedDict[tuple, tuple[ReadOutcome, int]] = OrderedDict()
        self.chars = 0
        self.lock = threading.Lock()

    def read(self, path: Path, max_bytes: int, max_pdf_pages: int | None) -> ReadOutcome:
        status = path.stat()
        key = (str(path), status.st_size, status.st_mtime_ns, max_bytes, max_pdf_pages)
        with self.lock:
            if (held := self.held.get(key)) is not None:
                self.held.move_to_end(key)
                return held[0]
        outcome = read_documents(path, root=path.parent, max_bytes=max_bytes, max_pdf_pages=max_pdf_pages)
        size = sum(len(document.text) for document in outcome.documents)
        with self.lock:
            if key not in self.held and size <= self.max_chars:
                self.held[key] = (outcome, size)
                self.chars += size
                while self.chars > self.max_chars:
                    _, (_, freed) = self.held.popitem(last=False)
                    self.chars -= freed
        return outcome


async def read_local(url: str, project_dir: Path | None, max_bytes: int,
                     max_pdf_pages: int | None = None, corpus_roots: tuple[Path, ...] = (),
                     reads: LocalReads | None = None) -> FetchedPage:
    return await asyncio.to_thread(read_local_now, url, project_dir, max_bytes, max_pdf_pages, corpus_roots, reads)


def read_local_now(url: str, project_dir: Path | None, max_bytes: int, max_pdf_pages: int | None = None,
                   corpus_roots: tuple[Path, ...] = (), reads: LocalReads | None = None) -> FetchedPage:
    """`corpus_roots`: resolved folders outside the project that local:// URLs may read too."""
    if project_dir is None:
        return refused(url, "bad_url", f"{url}: local:// URLs need a project folder")
    relative, _, fragment = url[len(LOCAL_SCHEME):].partition("#")
    root = project_dir.resolve()
    path = (root / relative).resolve()
    if not any(path.is_relative_to(allowed) for allowed in (root, *corpus_roots)):
        return refused(url, "outside_project", f"{url}: leaves the project folder {root}"
                       + (" and the local search corpus" if corpus_roots else ""))
    if not path.is_file():
        return refused(url, "not_found", f"{url}: no such file {path}")
    if reads is not None:
        outcome = reads.read(path, max_bytes, max_pdf_pages)
    else:
        outcome = read_documents(path, root=path.parent, max_bytes=max_bytes, max_pdf_pages=max_pdf_pages)
    wanted = path.name + (f"#{fragment}" if fragment else "")
    for document in outcome.documents:
        if document.source == wanted:
            return FetchedPage(url=url, ok=True, final_url=url, text=document.text, title=document.title,
                               format=document.format, content_type="local")
    for problem in outcome.problems:
        if problem.source in (wanted, path.name):
            reason = problem.reason if problem.reason in ("too_large", "too_many_pages") else "parse_error"
            return refused(url, reason, problem.detail)
    return refused(url, "not_found", f"{url}: {wanted} has no such document")
