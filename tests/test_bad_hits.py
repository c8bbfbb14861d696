"""One malformed search hit is a `bad_url` refusal of its own: the query still fetches its other hits,
in the fresh-documents loop (`research`) and in the answer half (`answer_search`). The search backend is
searxng's JSON API, served by a small app on 127.0.0.1 that puts two malformed URLs before a good one."""

from __future__ import annotations

from urllib.parse import quote

import yaml
from aiohttp import web

from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, seed_prompts
from tests.support.local_http import serving
from tests.support.prompt_script import words
from tests.test_research_loop import ResearchScript, make_research_project, research_state
from tests.test_research_loop import run as run_research

MALFORMED = ["http://[127.0.0.1]/", "http://[::1/"]


def search_and_pages_app() -> web.Application:
    app = web.Application()

    async def search(request):
        query = request.query.get("q", "")
        good = f"http://127.0.0.1:{request.url.port}/page?q={quote(query)}"
        return web.json_response({"results": [{"url": url, "title": "hit", "content": query}
                                              for url in [*MALFORMED, good]]})

    async def page(request):
        query = request.query.get("q", "")
        subject = query.split()[0] if query else "quarks"
        sentences = " ".join(f"{words(query + str(i), 6).capitalize()} shape {subject} here." for i in range(10))
        return web.Response(text=f"Subject: {subject}.\nTopic: {query}.\n\n{sentences}\n", content_type="text/plain")

    app.router.add_get("/search", search)
    app.router.add_get("/page", page)
    return app


def dropped(store, step):
    return [(row["label"], row["reason"]) for row in store.progress.rows(step) if row["outcome"] == "dropped"]


def test_research_keeps_the_good_hits_of_a_query_with_malformed_ones(tmp_path):
    with serving(search_and_pages_app()) as root:
        project = make_research_project(tmp_path / "p", target_total=40, backend="searxng",
                                        searxng={"base_url": root}, results_per_query=3,
                                        allow_private_addresses=True, max_queries=2)
        run_research(project, ResearchScript())
    state = research_state(project)
    store = state["store"]
    try:
        queries = state["queries"]
        assert queries and state["documents"]
        fetched = [entry for query in queries for entry in query.meta["fetched"]]
        assert {entry["url"]: entry["reason"] for entry in fetched if not entry["ok"]} == dict.fromkeys(MALFORMED, "bad_url")
        for query in queries:  # each query fetched its good hit (the malformed ones: once, for the first query)
            assert [entry["ok"] for entry in query.meta["fetched"] if entry["url"] not in MALFORMED] == [True]
        refusals = dropped(store, "research")
        assert {label for label, reason in refusals if reason == "bad_url"} == set(MALFORMED)
        assert not [row for row in store.progress.rows("research") if row["outcome"] == "error"]
    finally:
        store.close()


def test_answer_search_keeps_the_good_hits_of_a_query_with_malformed_ones(tmp_path):
    with serving(search_and_pages_app()) as root:
        project = make_answer_project(tmp_path / "p", queries_per_prompt=1, pages_per_query=3,
                                      search_backend="searxng")
        recipe_path = project / "recipe.yaml"
        recipe = yaml.safe_load(recipe_path.read_text())
        recipe["research"].update({"allow_private_addresses": True, "searxng": {"base_url": root}})
        recipe_path.write_text(yaml.safe_dump(recipe))
        seed_prompts(project, [("How many quark flavours are there?", "quarks")])
        with running_fake_server() as server:
            run_answers(project, server)
    store = Project.open(project).store()
    try:
        rows = [dict(row) for row in store.progress.rows("answer_search")]
        (query_row,) = [row for row in rows if row["outcome"] in ("kept", "error") and not row["label"].startswith("http")]
        assert query_row["outcome"] == "kept"
        assert sorted(dropped(store, "answer_search")) == sorted((url, "bad_url") for url in MALFORMED)
        (page,) = store.emitted("answer_search", kind="document")
        assert page.meta["url"].startswith(f"{root}/page?q=")
    finally:
        store.close()
