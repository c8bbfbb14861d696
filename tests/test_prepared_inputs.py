"""Steps that work out a page of their inputs at once (`Step.prepare_inputs`) decide as they do one input at a
time: the chunk filter's scores from a page encoded in one call equal those encoded chunk by chunk, and
generate's and broaden's prompts read the same chunk and profile texts from a page read in one query."""

from __future__ import annotations

import asyncio

from sftgen.core.page_memo import PageMemo, RecordTexts
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.open import open_run
from sftgen.steps.broaden import BroadenStep
from sftgen.steps.chunk_filter import ChunkFilterStep, relevance_encoder, relevance_gate
from sftgen.steps.generate import GenerateStep
from sftgen.steps.prepared_encoder import PreparedEncoder
from sftgen.relevance.score import DescriptionScorer
from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import docs_for, make_project, recipe, scripted_run


class CountingEncoder:
    """The real embedder, counting the calls and the texts it is asked to encode."""

    def __init__(self, embedder):
        self.embedder, self.calls, self.texts = embedder, 0, 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.embedder.encode(texts)


def with_run(project_dir, check):
    async def go():
        project = Project.open(project_dir)
        store = project.store()
        try:
            async with open_run(project, standard_pipeline(project.recipe), store) as run:
                return check(run, store)
        finally:
            store.close()

    return asyncio.run(go())


def test_a_memo_holds_the_last_two_pages():
    memo: PageMemo[str, int] = PageMemo()
    memo.hold({"a": 1})
    memo.hold({"b": 2})
    assert memo.get("a") == 1 and memo.get("b") == 2
    memo.hold({"c": 3})
    assert memo.get("a") is None and "a" not in memo and memo.get("b") == 2 and memo.get("c") == 3


def test_a_run_records_the_scores_chunk_by_chunk_encoding_gives(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 3, "gluons": 3, "hadrons": 2}), recipe())
    scripted_run(project, PromptScript())

    def check(run, store):
        chunks = list(store.records_of_kind("chunk"))
        one_by_one = DescriptionScorer(run.recipe, run.services.embedder())  # no page prepared
        assert chunks and all(chunk.meta["relevance"] == one_by_one.score(chunk.text) for chunk in chunks)

    with_run(project, check)


def test_a_page_of_chunks_is_encoded_in_one_call_and_scores_as_one_at_a_time(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 3, "gluons": 3, "hadrons": 2}), recipe())
    scripted_run(project, PromptScript())

    def check(run, store):
        chunks = list(store.records_of_kind("chunk"))
        step = ChunkFilterStep()
        expected = [relevance_gate(run).score(chunk.text) for chunk in chunks]  # nothing prepared yet
        encoder = relevance_encoder(run)
        assert isinstance(encoder, PreparedEncoder)
        counting = encoder.encoder = CountingEncoder(encoder.encoder)
        step.prepare_inputs(chunks, run)
        assert (counting.calls, counting.texts) == (1, len({c.text for c in chunks}))
        assert [relevance_gate(run).score(chunk.text) for chunk in chunks] == expected
        assert counting.calls == 1  # every score came from the prepared page
        assert relevance_gate(run).score("a text no page held") is not None and counting.calls == 2

    with_run(project, check)


def test_generate_and_broaden_read_the_same_texts_from_a_prepared_page(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 3, "gluons": 3, "hadrons": 2}), recipe())
    scripted_run(project, PromptScript())

    def check(run, store):
        profiles = list(store.records_of_kind("profile"))
        prompts = list(store.records_of_kind("prompt"))
        assert profiles and prompts
        generate, broaden = GenerateStep(), BroadenStep()

        def generate_vars():
            return [generate.variables_for(p, run.item("generate"), ["explain"]) for p in profiles]

        def broaden_vars():
            return [broaden.variables_for(p, run.item("broaden"), []) for p in prompts]

        before = generate_vars(), broaden_vars()
        generate.prepare_inputs(profiles, run)
        broaden.prepare_inputs(prompts, run)
        assert (generate_vars(), broaden_vars()) == before
        assert all(v["chunk"] for v in before[0]) and all(v["profile_summary"] for v in before[1])

    with_run(project, check)


def test_record_texts_fall_back_to_the_store_and_know_missing_ids(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 2}), recipe())
    scripted_run(project, PromptScript())

    def check(run, store):
        chunk = next(iter(store.records_of_kind("chunk")))
        texts = RecordTexts()
        texts.read(run, ["", "chu_missing"])
        assert texts.text(run, chunk.id) == chunk.text  # not held: from the store
        assert texts.text(run, "chu_missing") is None and texts.text(run, "") is None
        texts.read(run, [chunk.id])
        assert texts.get(chunk.id) == chunk.text

    with_run(project, check)


def test_a_page_of_prompts_holds_the_outcomes_and_passages_the_answer_step_reads_one_by_one(tmp_path):
    from sftgen.answers.upstream import ranked_passages
    from sftgen.steps.answer import AnswerStep, PromptRetrievals, prompt_retrievals
    from tests.fakes.fake_openai_server import running_fake_server
    from tests.support.answer_project import make_answer_project, run_answers, seed_prompts

    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project)
    with running_fake_server() as server:
        run_answers(project, server)

    def check(run, store):
        step, retrieve = AnswerStep(), AnswerStep.retrieve_step(run)
        unknown = prompts[0].child("prompt", "a prompt retrieval never saw")
        step.prepare_inputs([*prompts, unknown], run)
        held = prompt_retrievals(run)
        for prompt in prompts:
            assert held.get(prompt.id).outcome == store.progress.outcome_of(retrieve, prompt.id) is not None
            assert held.get(prompt.id).passages == ranked_passages(store, retrieve, prompt.id) != []
            assert step.passages(prompt, run.item("answer")) == held.get(prompt.id).passages
        assert held.get(unknown.id) == (None, [])
        step.reopen_inputs(run)  # a new pass reads its pages again
        assert run.services.peek(PromptRetrievals) is None

    with_run(project, check)
