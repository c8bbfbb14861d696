"""Split documents into chunks small enough that several fit in the model's context."""

from __future__ import annotations

from typing import Any

from sftgen.chunking.splitter import split_into_chunks
from sftgen.records import Record
from sftgen.core.step import Outcome, Step, drop, keep
from sftgen.core.context import ItemContext, RunContext


class ChunkStep(Step):
    """Split documents by paragraphs and sentences, with overlap."""

    name = "chunk"
    consumes = "document"
    produces = "chunk"
    remote_ok = True

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return ctx.recipe.chunking.model_dump()

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        chunking = ctx.recipe.chunking
        chunks = split_into_chunks(
            item.text,
            size=chunking.size,
            overlap=chunking.overlap,
            unit=chunking.unit,
            markdown=item.meta.get("format") == "md",
        )
        if not chunks:
            return drop("no_chunks", f"{item.meta.get('source', item.id)}: nothing to chunk")
        return keep(*(chunk_record(item, chunk) for chunk in chunks))


def chunk_record(document: Record, chunk) -> Record:
    meta = {
        "document_id": document.id,
        "source": document.meta.get("source"),
        "title": document.meta.get("title"),
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "heading_path": list(chunk.heading_path),
    }
    if document.meta.get("url"):
        meta["url"] = document.meta["url"]
    return document.child("chunk", chunk.text, meta=meta, origin=f"{chunk.index}:{chunk.start}")
