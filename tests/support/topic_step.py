"""A small LLM step used to test the machinery (executor, store, cache, resume) on its own: it asks
the LLM for the topic of each chunk and makes one `note` record per chunk. The product's own LLM
steps are tested in their own files."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from sftgen.records import Record
from sftgen.core.step import LLMStep, Outcome, keep
from sftgen.steps.chunk import ChunkStep
from sftgen.steps.ingest import IngestStep

TEMPLATE_NAME = "test_topic.jinja"
TEMPLATE = """<|system|>
You name the topic of a text in two or three words.
<|user|>
{{ text | fence }}
"""


class Topic(BaseModel):
    topic: str = Field(min_length=1, max_length=40)  # bounded, so a small model's grammar cannot ramble


class TopicStep(LLMStep):
    name = "topic"
    consumes = "chunk"
    produces = "note"
    template = TEMPLATE_NAME
    output_schema = Topic

    def variables(self, item: Record, ctx) -> dict:
        return {"text": item.text}

    def on_reply(self, item: Record, reply: Topic, ctx) -> Outcome:
        return keep(item.child("note", reply.topic, meta={"chunk_id": item.id}))


def install_template(project_dir: Path, text: str = TEMPLATE) -> None:
    (project_dir / "templates").mkdir(exist_ok=True)
    (project_dir / "templates" / TEMPLATE_NAME).write_text(text)


def topic_pipeline():
    return [IngestStep(), ChunkStep(upstream=["ingest"]), TopicStep(upstream=["chunk"])]
