"""Read the project's document folders into document records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sftgen.ingest.readers import iter_source_entries, read_documents
from sftgen.records import Record, stable_hash
from sftgen.core.step import Outcome, SideDrop, SourceItem, SourceStep, drop, keep
from sftgen.core.context import ItemContext, RunContext


class IngestStep(SourceStep):
    """Read txt, md, html, pdf and jsonl files from the source folders."""

    name = "ingest"
    produces = "document"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        sources = ctx.recipe.sources
        return {"max_file_mb": sources.max_file_mb, "max_pdf_pages": sources.max_pdf_pages}

    def discover(self, ctx: RunContext) -> Iterator[SourceItem]:
        for folder_name in ctx.recipe.sources.folders:
            root = (ctx.project_dir / folder_name).resolve()
            if not root.is_dir():
                raise FileNotFoundError(f"source folder '{folder_name}' (sources.folders) does not exist: {root}")
            for entry in iter_source_entries(root):  # a link that is not read is an item too: its reason is kept
                path = entry.path
                relative = f"{folder_name}/{path.relative_to(root).as_posix()}"
                stat = path.lstat() if entry.problem else path.stat()
                yield SourceItem(
                    id=f"file_{stable_hash('file', relative)}",
                    label=relative,
                    fingerprint=f"{stat.st_size}:{stat.st_mtime_ns}",
                    payload=(path, root, folder_name),
                )

    async def read(self, source: SourceItem, ctx: ItemContext) -> Outcome:
        path, root, folder_name = source.payload
        max_bytes = int(ctx.recipe.sources.max_file_mb * 1024 * 1024)
        outcome = read_documents(path, root=root, max_bytes=max_bytes, max_pdf_pages=ctx.recipe.sources.max_pdf_pages)
        problems = [
            SideDrop(label=f"{folder_name}/{p.source}", reason=p.reason, detail=p.detail) for p in outcome.problems
        ]
        if not outcome.documents:
            first = problems[0] if problems else SideDrop(source.label, "empty", f"{source.label}: no documents")
            return drop(first.reason, first.detail)
        records = [document_record(folder_name, document) for document in outcome.documents]
        result = keep(*records)
        result.side_drops = problems
        return result


def document_record(folder_name: str, document) -> Record:
    source = f"{folder_name}/{document.source}"
    meta = {"source": source, "format": document.format, "title": document.title, **document.meta}
    return Record(kind="document", text=document.text, meta=meta, origin=source)
