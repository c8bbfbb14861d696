"""The fresh-documents loop on the fake LLM server with a scripted model and the local
BM25 backend: research pages are chunked, profiled and turned into prompts on the next pass; the loop
stops when the quotas are met, or when the query or page budget is spent."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript, marker, physics_doc, words

SUBDOMAINS = [
    {"name": "quarks", "share": 0.5, "description": "quark flavours, charges and masses"},
    {"name": "gluons", "share": 0.5, "description": "gluons, colour charge and confinement"},
]


class ResearchScript(PromptScript):
    """The prompt pipeline's scripted model, which also writes research queries: the subdomain's name
    and two words picked by the topic, so each profile's queries differ."""

    def __call__(self, step, body):
        messages = body.get("messages") or []
        if step != "research":
            return super().__call__(step, body)
        self.requests["research"] += 1
        user = "\n".join(m["content"] for m in messages if m["role"] == "user")
        subdomain = marker(user, "Subdomain").split(" (")[0]
        topic = marker(user, "Topic")
        count = int(user.split("Write ", 1)[1].split(" ", 1)[0])
        return json.dumps({"queries": [f"{subdomain} {words(topic + str(i), 2)}" for i in range(count)]})


def corpus_doc(subject: str, index: int) -> str:
    """A corpus page the script profiles as `subject`; its wording differs from every other page."""
    sentences = " ".join(f"{words(f'{subject}{index}-{j}', 6).capitalize()} shape {subject} here." for j in range(8))
    return physics_doc(subject, f"{subject} corpus page {index}", extra=sentences)


def make_research_project(root: Path, target_total: int, **research) -> Path:
    recipe = {
        "project": "research-loop-test",
        "domain": {"name": "particle physics", "subdomains": SUBDOMAINS},
        "chunking": {"size": 4000, "overlap": 100},
        "profiles": {"min_chunk_chars": 100},
        "prompts": {"target_total": target_total, "overshoot": 1.0, "per_profile": 2, "variants_per_prompt": 1},
        "research": {"enabled": True, "backend": "local", "local": {"corpus": "corpus"}, "queries_per_profile": 2,
                     "results_per_query": 2, "prompts_per_page": 4, **research},
    }
    docs = {"quarks-0.md": physics_doc("quarks", "quark flavours"), "gluons-0.md": physics_doc("gluons", "gluon colour")}
    project = make_project(root, docs, recipe)
    corpus = project / "corpus"
    corpus.mkdir()
    for subject in ("quarks", "gluons"):
        for index in range(6):
            (corpus / f"{subject}-{index}.txt").write_text(corpus_doc(subject, index), encoding="utf-8")
    return project


def run(project_dir: Path, script: ResearchScript):
    async def go(server):
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=2,
                            backoff=Backoff(0.001, 0.01))
        try:
            project = Project.open(project_dir)
            steps = standard_pipeline(project.recipe)
            return await run_project(project, RunOptions(until="research"), llm=client), steps
        finally:
            await client.aclose()

    with running_fake_server() as server:
        server.script_steps(script)
        return asyncio.run(go(server))


def research_state(project_dir: Path) -> dict:
    store = open_store(project_dir)
    try:
        project = Project.open(project_dir)
        final = standard_pipeline(project.recipe).final("prompt").name
        rows = [dict(row) for row in store.progress.rows("research")]
        return {
            "documents": list(store.emitted("research", kind="document")),
            "queries": [q for q in store.records_of_kind("query") if q.meta.get("purpose") == "research"],
            "reasons": Counter(row["reason"] for row in rows if row["outcome"] == "dropped"),
            "prompts": Counter(p.meta["subdomain"] for p in store.emitted(final, kind="prompt") if p.status == "kept"),
            "chunked": {row["item_id"] for row in store.progress.rows("chunk")},
            "profiles": list(store.emitted("profile", kind="profile")),
            "store": store,
        }
    except BaseException:
        store.close()
        raise


def test_the_loop_fetches_until_the_quotas_can_be_met_then_stops(tmp_path):
    project = make_research_project(tmp_path / "p", target_total=16, max_queries=40, max_pages=40)
    summary, _ = run(project, ResearchScript())
    state = research_state(project)
    try:
        # Each source profile makes 4 of the 8 prompts its subdomain wants; one page each makes the rest.
        assert state["prompts"] == {"quarks": 8, "gluons": 8}
        documents = state["documents"]
        assert Counter(d.meta["subdomain"] for d in documents) == {"quarks": 1, "gluons": 1}
        assert state["reasons"]["quota_met"] >= 2  # the profiles of the research pages found nothing to do
        assert len(state["queries"]) < 40 and summary.stopped_by is None
        for document in documents:
            assert document.meta["url"].startswith("local://corpus/") and document.meta["source"] == document.meta["url"]
            query = state["store"].get(document.meta["query_id"])
            assert document.parent_ids == [query.id] and query.text == document.meta["query"]
            assert query.meta["subdomain"] == document.meta["subdomain"]
            assert state["store"].get(query.parent_ids[0]).kind == "profile"
            assert document.id in state["chunked"]  # back through chunking...
        research_chunks = {p.meta["document_id"] for p in state["profiles"]}
        assert {d.id for d in documents} <= research_chunks  # ...and profiling
    finally:
        state["store"].close()


def test_the_loop_stops_when_the_query_budget_is_spent(tmp_path):
    project = make_research_project(tmp_path / "p", target_total=400, max_queries=3, max_pages=40)
    summary, _ = run(project, ResearchScript())
    state = research_state(project)
    try:
        assert len(state["queries"]) == 3
        assert state["reasons"]["research_budget_spent"] >= 1
        assert 1 <= len(state["documents"]) <= 3 * 2
        assert summary.passes < 50  # ended because nothing was left to do, not by the pass limit
    finally:
        state["store"].close()
    # A second run finds the budget spent in the store: no new query, no new page.
    run(project, ResearchScript())
    again = research_state(project)
    try:
        assert len(again["queries"]) == 3 and len(again["documents"]) == len(state["documents"])
    finally:
        again["store"].close()


def test_the_page_budget_caps_the_fetches(tmp_path):
    project = make_research_project(tmp_path / "p", target_total=400, max_queries=40, max_pages=2)
    run(project, ResearchScript())
    state = research_state(project)
    try:
        fetched = {f["url"] for q in state["queries"] for f in q.meta["fetched"]}
        assert len(fetched) == 2 and len(state["documents"]) <= 2
        rows = state["store"].progress.rows("research")
        assert any(row["reason"] == "page_budget_spent" for row in rows)
    finally:
        state["store"].close()


def test_new_research_settings_keep_the_pages_found_before(tmp_path):
    project = make_research_project(tmp_path / "p", target_total=16, max_queries=40, max_pages=40)
    run(project, ResearchScript())
    before = research_state(project)
    before_ids = {d.id for d in before["documents"]}
    before["store"].close()
    recipe_path = project / "recipe.yaml"
    recipe_path.write_text(recipe_path.read_text().replace("max_pages: 40", "max_pages: 60"))
    run(project, ResearchScript())  # every profile is redone under the new settings; the quotas are met
    after = research_state(project)
    try:
        assert {d.id for d in after["documents"]} == before_ids
        assert all(q.meta.get("hits") for q in after["queries"])  # a redo keeps what the search found
        assert after["prompts"] == {"quarks": 8, "gluons": 8}
    finally:
        after["store"].close()


class ParrotScript(ResearchScript):
    """A model that writes the same queries for every profile (small models copy the template's example)."""

    def __call__(self, step, body):
        if step == "research":
            self.requests["research"] += 1
            return json.dumps({"queries": ["quarks colour charge", "gluons colour charge"]})
        return super().__call__(step, body)


def test_a_query_another_profile_asked_is_not_searched_again(tmp_path):
    project = make_research_project(tmp_path / "p", target_total=400, max_queries=40, max_pages=40)
    run(project, ParrotScript())
    state = research_state(project)
    try:
        assert sorted(q.text for q in state["queries"]) == ["gluons colour charge", "quarks colour charge"]
        rows = state["store"].progress.rows("research")
        assert sum(row["reason"] == "repeated_query" for row in rows) >= 2
    finally:
        state["store"].close()
