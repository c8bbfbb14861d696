"""With two or more candidate answers per prompt (`answers.candidates`), pick one: the judge's rubric
scores rank a prompt's kept candidates, and the two best are compared pairwise, asked twice with their
positions swapped. Every kept candidate goes on with `chosen`, `chosen_by`, `chosen_reason`,
`judge_chosen` and, for the two compared, `pairwise` in its meta (answers/selection.py decides).

Each candidate is one input, but the choice is the prompt's: the step reads the prompt's other candidates
from the store (answers/choice.py) and waits (`UpstreamPending`) while the judge has not scored one of
them. Siblings in flight at the same time share one comparison instead of asking it again."""

from __future__ import annotations

import asyncio
from typing import Any

from sftgen.answers.choice import candidates_of
from sftgen.answers.selection import Comparison, Pairwise, ranked, selection
from sftgen.answers.upstream import require_processed
from sftgen.core.context import ItemContext, RunContext
from sftgen.core.step import Outcome, Step, drop
from sftgen.records import Record, Status
from sftgen.steps.answer import AnswerStep
from sftgen.steps.answer_eval import AnswerEvalStep

TEMPLATE = "answer_compare.jinja"


class AnswerSelectStep(Step):
    """Pick one of each prompt's candidate answers: rubric ranking, then a pairwise judge in both orders."""

    name = "answer_select"
    consumes = produces = "answer"
    passes_input_on = True
    uses_llm = True

    def __init__(self, upstream: list[str] | None = None):
        super().__init__(upstream)
        self.in_flight: dict[tuple, asyncio.Future] = {}

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        # The choice depends on what the answer step and the judge made: when they redo their items, so does this.
        answer, judge = ctx.pipeline.step_of(AnswerStep), ctx.pipeline.step_of(AnswerEvalStep)
        return {
            "template": ctx.templates.fingerprint(TEMPLATE),
            "schema": Comparison.model_json_schema(),
            "model": ctx.llm_identity,
            "answer": answer.settings_hash(ctx) if answer else None,
            "judge": judge.settings_hash(ctx) if judge else None,
        }

    def label(self, item: Record) -> str:
        return item.text[:80]

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        store = ctx.run.store
        prompt = store.get(item.meta.get("prompt_id", ""))
        if prompt is None:
            return drop("missing_prompt", f"answer {item.id}: its prompt {item.meta.get('prompt_id')} is not in the store")
        candidates = self.kept_candidates(prompt, item, ctx)
        key = (prompt.id, *((c.id, c.meta.get("score_mean")) for c in candidates))
        if key not in self.in_flight:
            self.in_flight[key] = asyncio.ensure_future(self.decide(prompt, candidates, ctx))
            self.in_flight[key].add_done_callback(lambda _: self.in_flight.pop(key, None))
        decided = await asyncio.shield(self.in_flight[key])
        return Outcome(Status.KEPT, meta_updates=decided[item.id])

    def kept_candidates(self, prompt: Record, item: Record, ctx: ItemContext) -> list[Record]:
        """The prompt's candidates the judge kept (this one among them), with the judge's scores."""
        judge = ctx.run.pipeline.step_of(AnswerEvalStep)
        kept = []
        for candidate in candidates_of(ctx.run.store, prompt.id):
            if candidate.id != item.id and judge is not None:
                outcome, _ = require_processed(ctx.run.store, judge.name, candidate)
                if outcome != Status.KEPT:
                    continue
            kept.append(candidate if candidate.id != item.id else item)
        return kept if any(c.id == item.id for c in kept) else [*kept, item]

    async def decide(self, prompt: Record, candidates: list[Record], ctx: ItemContext) -> dict[str, dict[str, Any]]:
        if len(candidates) < 2:
            return selection(candidates, None)
        best, second = ranked(candidates)[:2]
        first, swapped = await asyncio.gather(self.compare(prompt, best, second, ctx),
                                              self.compare(prompt, second, best, ctx))
        return selection(candidates, Pairwise(first.better, swapped.better))

    async def compare(self, prompt: Record, answer_a: Record, answer_b: Record, ctx: ItemContext) -> Comparison:
        store = ctx.run.store
        passages = [p for p in (store.get(pid) for pid in answer_a.meta.get("passage_ids", [])) if p is not None]
        variables = {"domain": ctx.recipe.domain, "prompt": prompt.text, "passages": [{"text": p.text} for p in passages],
                     "answer_a": answer_a.text, "answer_b": answer_b.text, "rubric": ctx.recipe.answers.rubric}
        return await ctx.ask(TEMPLATE, variables, Comparison, temperature=0.0)
