"""`local://<path relative to the project>[#L<n>]` (or `local:///<absolute path>` inside a corpus folder the
recipe names outside the project): documents of a local search corpus, read from disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sftgen.fetch.page import FetchedPage, refused
from sftgen.ingest.readers import read_documents

LOCAL_SCHEME = "local://"


async def read_local(url: str, project_dir: Path | None, max_bytes: int,
                     max_pdf_pages: int | None = None, corpus_roots: tuple[Path, ...] = ()) -> FetchedPage:
    return await asyncio.to_thread(read_local_now, url, project_dir, max_bytes, max_pdf_pages, corpus_roots)


def read_local_now(url: str, project_dir: Path | None, max_bytes: int, max_pdf_pages: int | None = None,
                   corpus_roots: tuple[Path, ...] = ()) -> FetchedPage:
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
