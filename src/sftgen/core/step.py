"""What a step is. A step consumes records of one kind from its upstream steps and, for each input,
returns an Outcome: kept (with the records it makes), or dropped with a reason. Specialised bases keep
most steps a few lines:

- Step:        `async process(item, ctx) -> Outcome`, one input at a time (the executor runs many at once);
- LLMStep:     names a template and a pydantic output schema; `precheck()` may settle an item without
               asking, `variables()` go in, `on_reply()` makes the outcome (LLMFilterStep: a kept input is
               passed on itself);
- GlobalStep:  sees all its new inputs at once, and everything it kept before (dedup);
- SourceStep:  has no upstream; discovers its own inputs (files, URLs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from sftgen.records import Record, Status, stable_hash

if TYPE_CHECKING:
    from sftgen.core.context import ItemContext, RunContext
    from sftgen.store import ItemResult


@dataclass
class Outcome:
    status: Status
    outputs: list[Record] = field(default_factory=list)
    reason: str | None = None
    detail: str | None = None
    side_drops: list[SideDrop] = field(default_factory=list)
    """Parts of the input dropped on their own (a bad line of a jsonl file whose other lines are kept)."""
    input_status: Status | None = None
    """The step's verdict on the input record itself, committed with the result: DROPPED marks it dropped
    by this step (a reviewer's rejection), KEPT undoes an earlier drop by this step. None: untouched."""
    meta_updates: dict[str, Any] = field(default_factory=dict)
    """Merged into the input record's meta with the result (a None value removes the key): what a step
    records about the input itself, e.g. the judge's scores."""


@dataclass
class SideDrop:
    label: str
    reason: str
    detail: str


def keep(*outputs: Record) -> Outcome:
    return Outcome(Status.KEPT, list(outputs))


def drop(reason: str, detail: str | None = None) -> Outcome:
    return Outcome(Status.DROPPED, reason=reason, detail=detail)


def replace(version: Record) -> Outcome:
    """Pass on one record in place of the input (steps with `replaces_input`): a new version of it, or the
    input itself when it goes on unchanged."""
    return Outcome(Status.KEPT, [version])


class Step:
    name: ClassVar[str]
    consumes: ClassVar[str | None] = None
    produces: ClassVar[str | None] = None
    version: ClassVar[int] = 1
    """Bump when the step's code changes what it makes, so resumed runs redo its items."""
    passes_input_on: ClassVar[bool] = False
    """A filter: each kept input is passed on itself."""
    replaces_input: ClassVar[bool] = False
    """Each kept input goes on as one record: itself, or a new version of it (rephrase, review gates)."""
    gates: ClassVar[str | None] = None
    """The record kind whose reviewers' decisions flow back through this step (review gates)."""
    uses_llm: ClassVar[bool] = False
    runs_on_driver: ClassVar[bool] = False
    """Writes the store while it runs (web research stores its queries at once): never on a Ray worker."""
    remote_ok: ClassVar[bool] = False
    """Worth sending to a Ray worker without an LLM: CPU-bound, and reads nothing from the store (chunking)."""

    def __init__(self, upstream: list[str] | None = None):
        self.upstream = upstream or []

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        """What, when changed, makes this step redo its items. Hashed into every progress row."""
        return {}

    def settings_hash(self, ctx: RunContext) -> str:
        return stable_hash(type(self).__name__, self.version, self.settings(ctx))

    def concurrency(self, ctx: RunContext) -> int:
        return ctx.llm_concurrency if self.uses_llm else 1

    def uses_embedder(self, ctx: RunContext) -> bool:
        """Whether it encodes with the run's static embedder (distilled once per machine; a dry run distils
        it before it measures, so that once-per-machine minute is not taken for the run's)."""
        return False

    def label(self, item: Record) -> str:
        return item.meta.get("source") or item.text[:80]

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        raise NotImplementedError

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """A page of pending inputs, before the pool takes them: a step may do at once what it would do for
        each (encode their texts in one call, read the records they refer to in one query) and keep it in a
        PageMemo (core/page_memo.py). Only a speed-up: `process` gives the same outcome without it."""

    def reopen_inputs(self, ctx: RunContext) -> None:
        """Called before each pass looks for this step's pending inputs: a step may hand back inputs
        it declined earlier whose reason no longer holds (see GenerateStep)."""

    def describe(self) -> str:
        return (type(self).__doc__ or self.name).strip().splitlines()[0]


class LLMStep(Step):
    uses_llm = True
    template: ClassVar[str]
    output_schema: ClassVar[type[BaseModel]]
    temperature: ClassVar[float | None] = None
    """None: the recipe's `llm.temperature`."""

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {
            "template": ctx.templates.fingerprint(self.template),
            "schema": self.output_schema.model_json_schema(),
            "model": ctx.llm_identity,
            **self.step_settings(ctx),
        }

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        """Recipe settings of this step that change its results."""
        return {}

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        """The outcome for an item settled without asking the LLM (too short, nothing to rewrite...); None: ask."""
        return None

    def template_for(self, item: Record, ctx: ItemContext) -> str:
        return self.template

    def schema_for(self, item: Record, ctx: ItemContext) -> type[BaseModel]:
        """The reply's schema for this item (e.g. a list bounded to exactly what the template asks for)."""
        return self.output_schema

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        raise NotImplementedError

    def on_reply(self, item: Record, reply: Any, ctx: ItemContext) -> Outcome:
        raise NotImplementedError

    def on_ask_failed(self, item: Record, ctx: ItemContext) -> None:
        """The request failed (an LLM error, the run stopping): give back what `precheck` took (quota room)."""

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        settled = self.precheck(item, ctx)
        if settled is not None:
            return settled
        try:
            reply = await ctx.ask(self.template_for(item, ctx), self.variables(item, ctx), self.schema_for(item, ctx),
                                  temperature=self.temperature)
        except BaseException:
            self.on_ask_failed(item, ctx)
            raise
        return self.on_reply(item, reply, ctx)


class LLMFilterStep(LLMStep):
    passes_input_on = True
    reason_first_template: ClassVar[str | None] = None
    reason_first_schema: ClassVar[type[BaseModel] | None] = None
    """The same judgement with the reason asked before the verdict (`filters.reason_first`)."""

    def reasons_first(self, ctx: RunContext | ItemContext) -> bool:
        recipe = ctx.recipe
        return self.reason_first_template is not None and recipe.filters.reasons_first(recipe.llm.provider)

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {**super().settings(ctx), **self.reason_first_settings(ctx)}

    def reason_first_settings(self, ctx: RunContext) -> dict[str, Any]:
        """Empty when off, so a project that does not use it keeps its settings."""
        if not self.reasons_first(ctx):
            return {}
        return {"reason_first": {"template": ctx.templates.fingerprint(self.reason_first_template),
                                 "schema": self.reason_first_schema_for(ctx).model_json_schema()}}

    def reason_first_schema_for(self, ctx: RunContext | ItemContext) -> type[BaseModel]:
        return self.reason_first_schema or self.output_schema

    def template_for(self, item: Record, ctx: ItemContext) -> str:
        return self.reason_first_template if self.reasons_first(ctx) else super().template_for(item, ctx)

    def schema_for(self, item: Record, ctx: ItemContext) -> type[BaseModel]:
        return self.reason_first_schema_for(ctx) if self.reasons_first(ctx) else super().schema_for(item, ctx)

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        outcome = await super().process(item, ctx)
        outcome.outputs = []
        return outcome


class GlobalStep(Step):
    """Sees every new input at once; `kept_before` are the records it passed on in earlier runs."""

    def run_global(self, new_items: list[Record], kept_before: list[Record], ctx: RunContext) -> list[ItemResult]:
        raise NotImplementedError


@dataclass
class SourceItem:
    id: str
    label: str
    fingerprint: str
    """Changes when the source changes (size, mtime), so a changed file is read again."""
    payload: Any = None


class SourceStep(Step):
    def discover(self, ctx: RunContext) -> Iterator[SourceItem]:
        raise NotImplementedError

    async def read(self, source: SourceItem, ctx: ItemContext) -> Outcome:
        raise NotImplementedError
