"""The embedded default: BM25 (bm25s) over a folder or a JSONL file of documents the user names.

Hits are `local://<path relative to the project>` URLs (`#L<n>` for a JSONL row), or `local:///<absolute
path>` for a corpus outside the project (`research.local.corpus`, only read); the fetcher reads them back
from disk, so research over a local corpus needs no network at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from sftgen.ingest.readers import iter_source_files, read_documents
from sftgen.records import stable_hash
from sftgen.search.base import SearchError, SearchHit, ranked
from sftgen.search.bm25_text import bm25_terms, text_terms
from sftgen.search.top_k import queries_top_k, query_top_k
from sftgen.turns import TurnBatch

LOCAL_SCHEME = "local://"
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
SNIPPET_CHARS = 300
LOWERED_CHARS = 16_000_000
FIRST_POSITIONS = 500_000
"""(document, word) -> first position of the word in the document, kept for snippets (forgotten all at once
beyond this many)."""
INDEX_FORMAT = 2
"""Bumped when the terms change (2: stemmed, question words out): an index saved before is rebuilt."""
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class CorpusDocument:
    url: str
    title: str
    text: str


def local_url(project_relative: str) -> str:
    return f"{LOCAL_SCHEME}{project_relative}"


def url_path(path: Path, project_dir: Path) -> str:
    """A file's path in its local:// URL: relative to the project inside it, absolute outside."""
    resolved = path.resolve()
    root = project_dir.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else resolved.as_posix()


def read_corpus(corpus_path: Path, project_dir: Path) -> list[CorpusDocument]:
    """Every readable document of a folder (recursively) or of one file (JSONL: one per row)."""
    if not corpus_path.exists():
        raise SearchError("corpus_missing", f"research.local.corpus: {corpus_path} does not exist")
    root = corpus_path if corpus_path.is_dir() else corpus_path.parent
    files = iter_source_files(corpus_path) if corpus_path.is_dir() else [corpus_path]
    documents: list[CorpusDocument] = []
    for path in files:
        outcome = read_documents(path, root=root, max_bytes=MAX_DOCUMENT_BYTES)
        for document in outcome.documents:
            where = url_path(root / document.source.split("#", 1)[0], project_dir)
            fragment = "#" + document.source.split("#", 1)[1] if "#" in document.source else ""
            title = document.title or document.source
            documents.append(CorpusDocument(local_url(where + fragment), title, document.text))
    return documents


def corpus_fingerprint(corpus_path: Path) -> str:
    """Changes when any file of the corpus is added, removed or changed (size, mtime)."""
    files = iter_source_files(corpus_path) if corpus_path.is_dir() else [corpus_path]
    listing = []
    for path in files:
        stat = path.stat()
        listing.append((path.as_posix(), stat.st_size, stat.st_mtime_ns))
    return stable_hash("bm25-corpus", INDEX_FORMAT, str(corpus_path.resolve()), listing)


class LocalBM25Backend:
    """BM25 over the corpus, indexed once on first use (in a worker thread). With `index_dir`, the
    index is kept on disk under a fingerprint of the corpus files and loaded again while they are
    unchanged."""

    name = "local"

    def __init__(self, corpus_path: Path, project_dir: Path, index_dir: Path | None = None):
        self.corpus_path = corpus_path
        self.project_dir = project_dir
        self.index_dir = index_dir
        self.documents: list[CorpusDocument] | None = None
        self.retriever: bm25s.BM25 | None = None
        self.loaded_from_disk = False
        self.lock = asyncio.Lock()
        self.lowered_texts: OrderedDict[int, str] = OrderedDict()
        self.lowered_chars = 0
        self.lowered_lock = threading.Lock()
        self.first_positions: dict[tuple[int, str], int] = {}
        self.searches: TurnBatch[tuple[str, int, bool], list[SearchHit]] = TurnBatch(self.search_all)
        """The searches asked for in one turn of the event loop, scored together in one worker thread."""

    async def search(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        if self.documents is None:
            await self.ensure_index()
        return await self.searches.submit((query, k, snippets))  # with the others of this turn

    async def ensure_index(self) -> None:
        async with self.lock:
            if self.documents is None:
                await asyncio.to_thread(self.build_index)

    def build_index(self) -> None:
        if not self.corpus_path.exists():
            raise SearchError("corpus_missing", f"research.local.corpus: {self.corpus_path} does not exist")
        self.lowered_texts.clear()
        self.lowered_chars = 0
        self.first_positions.clear()
        saved = self.index_dir / corpus_fingerprint(self.corpus_path) if self.index_dir else None
        if saved is not None and (saved / "documents.jsonl").is_file():
            self.load(saved)
            return
        documents = read_corpus(self.corpus_path, self.project_dir)
        retriever = bm25s.BM25()
        if documents:
            retriever.index(bm25_terms([f"{d.title}\n{d.text}" for d in documents]), show_progress=False)
        self.retriever, self.documents = retriever, documents
        if saved is not None and documents:
            self.save(saved)

    def save(self, folder: Path) -> None:
        """Write to a temporary folder, then rename: a reader never sees half an index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        assert self.retriever is not None and self.documents is not None
        self.retriever.save(partial, show_progress=False)
        with (partial / "documents.jsonl").open("w", encoding="utf-8") as out:
            for document in self.documents:
                out.write(json.dumps({"url": document.url, "title": document.title, "text": document.text},
                                     ensure_ascii=False) + "\n")
        try:
            os.replace(partial, folder)
        except OSError:  # another process saved the same index first
            shutil.rmtree(partial, ignore_errors=True)

    def load(self, folder: Path) -> None:
        self.retriever = bm25s.BM25.load(folder, show_progress=False)
        with (folder / "documents.jsonl").open(encoding="utf-8") as lines:
            self.documents = [CorpusDocument(**json.loads(line)) for line in lines]
        self.loaded_from_disk = True

    def search_now(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        """The hits of `search`; without `snippets`, each hit's snippet is empty (the answer search reads the
        pages themselves, and placing a snippet was a third of a search's time)."""
        result = self.search_all([(query, k, snippets)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def search_all(self, jobs: list[tuple[str, int, bool]]) -> list[list[SearchHit] | Exception]:
        """`search_now` of each (query, k, snippets), the queries scored together (search/top_k.py); a query
        that fails is its own exception."""
        assert self.documents is not None and self.retriever is not None
        results: list[list[SearchHit] | Exception] = [[] for _ in jobs]
        scored: list[tuple[int, list[str], int]] = []  # (position, terms, k) of the queries with terms
        for position, (query, k, _) in enumerate(jobs):
            if not self.documents or k <= 0:
                continue
            try:
                terms = text_terms(query)
            except Exception as exc:  # noqa: BLE001 - one query's failure is its own
                results[position] = exc
                continue
            if terms:
                scored.append((position, terms, min(k, len(self.documents))))
        try:
            tops = queries_top_k(self.retriever, [(terms, k) for _, terms, k in scored])
        except Exception:  # noqa: BLE001 - scored one by one, each failure its query's own
            tops = []
            for _, terms, k in scored:
                try:
                    tops.append(query_top_k(self.retriever, terms, k))
                except Exception as exc:  # noqa: BLE001
                    tops.append(exc)
        for (position, _, k), top in zip(scored, tops):
            query, _, snippets = jobs[position]
            try:
                if isinstance(top, Exception):
                    raise top
                results[position] = self.hits_of(query, top, k, snippets)
            except Exception as exc:  # noqa: BLE001
                results[position] = exc
        return results

    def hits_of(self, query: str, top: tuple[np.ndarray, np.ndarray], k: int, snippets: bool) -> list[SearchHit]:
        top_scores, indices = top
        hits = []
        words = None
        for index, score in zip(indices.tolist(), top_scores.tolist()):
            if score <= 0:
                continue
            document = self.documents[index]
            if not snippets:
                hits.append((document.url, document.title, ""))
                continue
            words = snippet_words(query) if words is None else words
            hits.append((document.url, document.title, self.snippet_of(index, words)))
        return ranked(hits, self.name, k)

    def snippet_of(self, index: int, words: list[str]) -> str:
        """`snippet(text, query)` of the document, from the first position of each of the query's
        `snippet_words` in it, kept per (document, word): the same words come back in many queries."""
        found = []
        for word in words:
            key = (index, word)
            position = self.first_positions.get(key)
            if position is None:
                position = self.lowered(index).find(word)
                if len(self.first_positions) >= FIRST_POSITIONS:
                    self.first_positions.clear()
                self.first_positions[key] = position
            if position >= 0:
                found.append(position)
        return snippet_at(self.documents[index].text, found)

    def lowered(self, index: int) -> str:
        """The document's text in lower case, for its snippets: kept (up to LOWERED_CHARS characters, the
        oldest out first), as the same documents come back for many queries."""
        held = self.lowered_texts.get(index)
        if held is None:
            held = self.documents[index].text.lower()
            if len(held) <= LOWERED_CHARS:
                with self.lowered_lock:
                    self.lowered_texts[index] = held
                    self.lowered_chars += len(held)
                    while self.lowered_chars > LOWERED_CHARS:
                        _, freed = self.lowered_texts.popitem(last=False)
                        self.lowered_chars -= len(freed)
        return held

    async def aclose(self) -> None:
        pass


def snippet(text: str, query: str, lowered: str | None = None) -> str:
    """About SNIPPET_CHARS of text around the first query word found in it (`lowered`: text.lower())."""
    lowered = text.lower() if lowered is None else lowered
    positions = [lowered.find(word) for word in snippet_words(query)]
    return snippet_at(text, [p for p in positions if p >= 0])


def snippet_words(query: str) -> list[str]:
    """The query's words a snippet is placed by: lower-cased, longer than two characters, each once."""
    return [word for word in dict.fromkeys(WORD.findall(query.lower())) if len(word) > 2]


def snippet_at(text: str, found: list[int]) -> str:
    """The snippet around the first of the positions found (the text's start without any)."""
    start = max(0, min(found) - SNIPPET_CHARS // 3) if found else 0
    return " ".join(text[start : start + SNIPPET_CHARS].split())
