"""Lexical diversity. Openers (the first few words) are counted over all the prompts so
far; prompts whose opener is over-represented are rewritten into other forms that keep the meaning,
as many as it takes to bring the opener down to its allowed share. Others pass on unchanged.

An item step, not a global one: the set-wide opener counts are computed once per run (kept in the
run's services), and each prompt's decision (rewrite or not) follows from them and its rank among the
prompts of its opener, so a resumed run redoes only the prompts it has not seen."""

from __future__ import annotations

import math
import re
from itertools import islice
from collections import Counter, defaultdict
from typing import Any

from pydantic import BaseModel, Field

from sftgen.records import Record, stable_hash
from sftgen.core.step import LLMStep, Outcome, SideDrop, replace
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.prompt_records import clean_prompt, inherited_meta, rewording_problem

WORD = re.compile(r"[\w'-]+")
OPENING_STYLES = [
    "start with the situation or scenario the asker is in",
    "start with the subject itself, then ask the question about it",
    "make it a direct request in the imperative (e.g. Walk me through..., Give...)",
    "start with a short question word other than the current one",
    "start with 'I' and the asker's goal, then ask the question",
]


class Rephrased(BaseModel):
    rewritten: str = Field(min_length=10, max_length=400, description="The same question, worded differently.")


def opener(text: str, words: int) -> str:
    """The first `words` words, case folded (the rest of the text is not scanned)."""
    return " ".join(match.group() for match in islice(WORD.finditer(text.casefold()), words))


class OpenerPlan:
    """Which prompts to rewrite: for each over-represented opener, all but its allowed number, chosen by a
    stable hash rank so the choice does not depend on the order prompts arrive in."""

    def __init__(self, prompts: list[Record], words: int, max_share: float, min_prompts: int):
        self.words = words
        self.upstream_size = 0
        self._frequent: dict[int, list[str]] = {}
        by_opener: dict[str, list[str]] = defaultdict(list)
        for prompt in prompts:
            by_opener[opener(prompt.text, words)].append(prompt.id)
        self.counts = Counter({key: len(ids) for key, ids in by_opener.items()})
        self.total = len(prompts)
        self.allowed = max(1, math.floor(max_share * self.total))
        self.to_rewrite: set[str] = set()
        if self.total < min_prompts:
            return
        for key, ids in by_opener.items():
            if len(ids) > self.allowed:
                ranked = sorted(ids, key=lambda i: stable_hash("rephrase", i))
                self.to_rewrite.update(ranked[self.allowed:])

    def frequent(self, limit: int = 5) -> list[str]:
        """The most common over-represented openers. Worked out once per limit (a plan does not change; every
        prompt's request lists them, and `most_common` scans every opener)."""
        held = self._frequent.get(limit)
        if held is None:
            held = self._frequent[limit] = [key for key, count in self.counts.most_common(limit) if count > self.allowed]
        return list(held)


class RephraseStep(LLMStep):
    """Rewrite prompts whose opening words are over-represented."""

    name = "rephrase"
    consumes = "prompt"
    produces = "prompt"
    replaces_input = True
    template = "rephrase.jinja"
    output_schema = Rephrased

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        prompts = ctx.recipe.prompts
        return {"opener_words": prompts.opener_words, "max_opener_share": prompts.max_opener_share,
                "min_prompts": prompts.min_prompts_for_rephrase}

    def reopen_inputs(self, ctx: RunContext) -> None:
        """Before each pass: the plan is made again when the upstream steps have emitted more since (a later
        pass of the executor, after web research brought new documents). Counted once per pass, not per
        item: counting the emits for every prompt made this step quadratic in the project's size."""
        plan = ctx.services.peek(OpenerPlan)
        if plan is not None and plan.upstream_size != self.upstream_size(ctx):
            ctx.services.forget(OpenerPlan)

    def upstream_size(self, ctx: RunContext) -> int:
        return sum(ctx.store.count_emitted(step) for step in self.upstream)

    def plan(self, ctx: RunContext) -> OpenerPlan:
        """The plan over all prompts so far (made on first use in a pass)."""
        return ctx.services.state(OpenerPlan, lambda: self.new_plan(ctx, self.upstream_size(ctx)))

    def new_plan(self, ctx: RunContext, upstream_size: int) -> OpenerPlan:
        settings = ctx.recipe.prompts
        prompts = list(ctx.store.emitted(self.upstream, kind="prompt"))
        plan = OpenerPlan(prompts, settings.opener_words, settings.max_opener_share, settings.min_prompts_for_rephrase)
        plan.upstream_size = upstream_size
        return plan

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if item.id not in self.plan(ctx.run).to_rewrite:
            return replace(item)
        return None

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        style = OPENING_STYLES[int(stable_hash(item.id, length=4), 16) % len(OPENING_STYLES)]
        return {"prompt": item.text, "avoid": self.plan(ctx.run).frequent(), "style": style}

    def on_reply(self, item: Record, reply: Rephrased, ctx: ItemContext) -> Outcome:
        words = self.plan(ctx.run).words
        current = opener(item.text, words)
        text = clean_prompt(reply.rewritten)
        if opener(text, words) == current or text == item.text:
            return replace(item)  # the rewrite did not help: the original goes on as it was
        problem = rewording_problem(item.text, text)
        if problem:  # the original goes on; the broken rewrite is recorded with its reason
            outcome = replace(item)
            outcome.side_drops = [SideDrop(f"{item.id} rewrite: {text[:60]}", problem[0], problem[1])]
            return outcome
        meta = inherited_meta(item, rephrased_from=item.id, original_opener=current)
        for key in ("variant_of",):
            if key in item.meta:
                meta[key] = item.meta[key]
        return replace(item.child("prompt", text, meta=meta, origin="rephrase"))
