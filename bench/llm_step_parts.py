"""CPU per call of the LLM steps' own work outside the HTTP client and the store's writes (issue 17), over a
project a `bench/pipeline_scale.py --keep DIR` run left: rendering answer_eval's messages (through jinja's
internals and through `Template.render`), parsing a reply (the lenient decoder made once and
`json.loads(strict=False)`), reading an answer's prompt and passages (one query, a get plus a get_many, and their
texts only), the answer step's reads (a prompt's passages as records and without their parents, an answer's
earlier record and its meta alone), fencing an answer that cites [n], a generated prompt's task type and
label, and a record id.

The inputs are read from the project's store first (not timed); each part then runs `--repeat` times over
all its items and the best round's CPU time per call is printed (a busy machine slows some rounds). The
store is only read, but open a copy of a kept project (`cp -a`), never the kept one.

    PYTHONPATH=src .venv/bin/python bench/llm_step_parts.py COPY/project-2000 [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from best_cpu import best_ms  # bench/ is on the path: the script's folder
from sftgen.llm.fencing import fence
from sftgen.llm.structured import lenient_json, parse_reply
from sftgen.llm.templates import MessageSource, Templates
from sftgen.records import stable_hash
from sftgen.recipe import load_recipe
from sftgen.steps.answer import WrittenAnswer
from sftgen.steps.prompt_records import without_label
from sftgen.steps.task_types import checked_task_type
from sftgen.store.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    recipe = load_recipe(args.project / "recipe.yaml")
    store = Store(args.project / ".sftgen" / "store.db")
    answers = list(store.records_of_kind("answer"))[: args.items]
    prompt_texts = [prompt.text for prompt in store.records_of_kind("prompt")][: args.items]
    prompts = store.records.get_many([answer.meta["prompt_id"] for answer in answers])
    passages = store.records.get_many([pid for answer in answers for pid in answer.meta.get("passage_ids", [])])
    variables = [{"domain": recipe.domain, "prompt": prompts[answer.meta["prompt_id"]].text, "answer": answer.text,
                  "passages": [{"text": passages[pid].text} for pid in answer.meta.get("passage_ids", [])
                               if pid in passages], "rubric": recipe.answers.rubric} for answer in answers]
    sources = Templates(args.project).messages_of("answer_eval.jinja")
    fast = [MessageSource(source.role, source.template, fast=True) for source in sources]
    plain = [MessageSource(source.role, source.template, fast=False) for source in sources]
    replies = [json.dumps({"answer": answer.text}, ensure_ascii=False) for answer in answers]
    allowed = recipe.prompts.task_types

    def parents_in_one_query() -> None:
        for answer in answers:
            ids = answer.meta.get("passage_ids", [])
            found = store.records.get_many([answer.meta["prompt_id"], *ids])
            [found[pid] for pid in ids if pid in found]

    def parents_in_two() -> None:
        for answer in answers:
            store.get(answer.meta["prompt_id"])
            ids = answer.meta.get("passage_ids", [])
            found = store.records.get_many(ids)
            [found[pid] for pid in ids if pid in found]

    def parents_texts_only() -> None:
        for answer in answers:
            ids = answer.meta.get("passage_ids", [])
            found = store.records.texts([answer.meta["prompt_id"], *ids])
            [found[pid] for pid in ids if pid in found]

    retrieve = "answer_retrieve"

    def passages_as_records() -> None:
        for answer in answers:
            store.emits.emitted_from(retrieve, answer.meta["prompt_id"], "passage")

    def passages_without_parents() -> None:
        for answer in answers:
            store.emits.emitted_texts_from(retrieve, answer.meta["prompt_id"], "passage")

    def earlier_answer_record() -> None:
        for answer in answers:
            store.get(answer.id)

    def earlier_answer_meta() -> None:
        for answer in answers:
            store.records.meta_of(answer.id)

    n, r = len(answers), args.repeat
    rows = [
        ("answer_eval messages, jinja internals", best_ms(lambda: [[s.render(v) for s in fast] for v in variables], n, r)),
        ("answer_eval messages, Template.render", best_ms(lambda: [[s.render(v) for s in plain] for v in variables], n, r)),
        ("answer reply: lenient decoder made once", best_ms(lambda: [lenient_json(t) for t in replies], n, r)),
        ("answer reply: json.loads(strict=False)", best_ms(lambda: [json.loads(t, strict=False) for t in replies], n, r)),
        ("answer reply: parse_reply (decode + validate)", best_ms(lambda: [parse_reply(t, WrittenAnswer) for t in replies], n, r)),
        ("answer_eval parents: one get_many", best_ms(parents_in_one_query, n, r)),
        ("answer_eval parents: get + get_many", best_ms(parents_in_two, n, r)),
        ("answer_eval parents: their texts only", best_ms(parents_texts_only, n, r)),
        ("answer passages: emitted_from (records)", best_ms(passages_as_records, n, r)),
        ("answer passages: id, text, meta (no parents)", best_ms(passages_without_parents, n, r)),
        ("answer's earlier self: get", best_ms(earlier_answer_record, n, r)),
        ("answer's earlier self: meta_of", best_ms(earlier_answer_meta, n, r)),
        ("fence an answer citing [n]", best_ms(lambda: [fence(a.text, "ANSWER") for a in answers], n, r)),
        ("a generated prompt's task type", best_ms(lambda: [checked_task_type(t, allowed[0], allowed)
                                                            for t in prompt_texts], len(prompt_texts), r)),
        ("a generated prompt without its label", best_ms(lambda: [without_label(t, allowed) for t in prompt_texts],
                                                         len(prompt_texts), r)),
        ("a record id (stable_hash)", best_ms(lambda: [stable_hash("answer", a.text, a.parent_ids, "rag")
                                                       for a in answers], n, r)),
    ]
    print(f"{n} answers, {len(prompt_texts)} prompts of {args.project}; best of {r} rounds, CPU ms per call")
    for label, ms in rows:
        print(f"  {label:<48} {ms:8.4f} ms")
    store.close()


if __name__ == "__main__":
    main()
