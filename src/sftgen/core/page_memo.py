"""What a step worked out at once for a page of its pending inputs (`Step.prepare_inputs`), kept for their
`process` to take instead of working it out one by one: the embeddings of their texts, the records they
refer to.

It holds the last two pages: the executor reads the next page while inputs of the one before are still
queued or in flight. A key it no longer holds (a pool wider than a page, an input retried later) is
simply worked out again, so what it holds changes the speed and never the outcome; only values that
depend on their key alone belong here (a record's text by its id, which hashes the text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from sftgen.core.context import RunContext

K = TypeVar("K")
V = TypeVar("V")


class PageMemo(Generic[K, V]):
    def __init__(self) -> None:
        self.current: dict[K, V] = {}
        self.previous: dict[K, V] = {}

    def hold(self, values: dict[K, V]) -> None:
        """The next page's values; the page before the last is let go."""
        self.previous, self.current = self.current, values

    def get(self, key: K) -> V | None:
        value = self.current.get(key)
        return self.previous.get(key) if value is None else value

    def __contains__(self, key: K) -> bool:
        return key in self.current or key in self.previous


class RecordTexts(PageMemo[str, str]):
    """Records' texts by id (an id hashes its record's text, so the text held for an id is the text the store
    has): `read` takes a page's ids in one query, `text` one id, from the store when not held."""

    def read(self, run: RunContext, ids: list[str]) -> None:
        wanted = [record_id for record_id in dict.fromkeys(ids) if record_id]
        records = run.store.records.get_many(wanted) if wanted else {}
        self.hold({record_id: record.text for record_id, record in records.items()})

    def text(self, run: RunContext, record_id: str) -> str | None:
        held = self.get(record_id)
        if held is not None:
            return held
        record = run.store.get(record_id) if record_id else None
        return record.text if record is not None else None
