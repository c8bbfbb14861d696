"""The store keeps each thing once: a page that many queries find is one document record, each query's
emit points at it, and every passage still names the query of its own prompt that found its page."""

from __future__ import annotations

import json
import random
import struct
import zlib

from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, scores_reply, seed_prompts, template_of


def answer_script(step, body):
    if template_of(step, body) == "answer":
        return json.dumps({"answer": "Quarks come in six flavours [1]."})
    if template_of(step, body) == "answer_eval":
        return scores_reply(4)
    return None


def test_a_page_found_by_many_queries_is_stored_once_and_each_passage_names_its_own_query(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project)
    with running_fake_server() as server:
        server.script_steps(answer_script)
        run_answers(project, server)

    store = Project.open(project).store()
    try:
        documents = list(store.records_of_kind("document"))
        by_page = {(d.meta["url"], d.text) for d in documents}
        assert len(documents) == len(by_page)  # one record per page text
        assert all(not d.parent_ids for d in documents)
        queries = {q.id: q for q in store.records_of_kind("query")}
        found = [(q, page) for q in queries.values() for page in store.emits.emitted_from("answer_search", q.id, "document")]
        assert len(found) > len(documents)  # some pages were found more than once, and not copied
        passages = list(store.records_of_kind("passage"))
        assert passages
        for passage in passages:
            query = queries[passage.meta["query_id"]]
            assert query.meta["prompt_id"] == passage.meta["prompt_id"]
            assert passage.meta["document_id"] in {p.id for p in store.emits.emitted_from("answer_search", query.id)}
        assert len({p.meta["prompt_id"] for p in passages}) == len(prompts)
    finally:
        store.close()


def request(template: str, item: str) -> dict:
    return {"model": "m", "messages": [{"role": "system", "content": template},
                                       {"role": "user", "content": f"<TEXT>{item}</TEXT>"}], "temperature": 0.7}


def zlib_bytes(value: dict) -> int:
    """What a row would hold compressed by itself (zlib level 6, as sftgen once stored them): the baseline."""
    return len(zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 6))


def test_requests_of_one_template_are_stored_compressed_against_its_first_and_read_back_whole(tmp_path):
    from sftgen.store import Store

    judge = "You judge whether a passage is relevant to the domain. " + " ".join(f"rule {n}: be strict" for n in range(80))
    writer = "You write a question a student would ask. " + " ".join(f"guideline {n}: be clear" for n in range(80))
    bodies = {f"k{n}": request(judge if n % 2 else writer, f"item number {n} about quark colour charge")
              for n in range(10)}
    store = Store(tmp_path / "store.db")
    for key, body in bodies.items():
        store.cache_put(key, "m", json.dumps(body).encode(), {"choices": [{"message": {"content": key}}]}, {})
    store.close()

    store = Store(tmp_path / "store.db")  # another process: the dictionaries come from the store
    try:
        assert {key: store.cache_entry(key)["request"] for key in bodies} == bodies
        assert store.cache_get("k3") == {"choices": [{"message": {"content": "k3"}}]}
        assert store.conn.execute("SELECT COUNT(*) FROM llm_cache_dicts").fetchone()[0] == 4  # a request's and a reply's per template
        later = store.conn.execute("SELECT length(request) FROM llm_cache WHERE key='k9'").fetchone()[0]
        assert later < zlib_bytes(bodies["k9"]) / 3
        store.cache_put("k10", "m", request(judge, "one more"), {"choices": []}, {})  # reuses the judge's
        assert store.conn.execute("SELECT COUNT(*) FROM llm_cache_dicts").fetchone()[0] == 4
        assert store.cache_entry("k10")["request"] == request(judge, "one more")
    finally:
        store.close()


def test_replies_of_one_template_are_stored_compressed_against_its_first_reply_and_read_back_whole(tmp_path):
    from sftgen.store import Store

    judge = "You judge whether a passage is relevant to the domain. " + " ".join(f"rule {n}: be strict" for n in range(80))

    def reply(n):
        verdict = json.dumps({"verdict": "keep" if n % 3 else "drop", "explanation": f"passage {n} is on quark colour",
                              "confidence": "high", "evidence": ["the passage names colour charge", "and gluons"]})
        return {"id": f"chatcmpl-{n:024x}", "object": "chat.completion", "created": 1796147217 + n, "model": "qwen2.5-7b",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": verdict},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 250 + n, "completion_tokens": 40, "total_tokens": 290 + n}}

    store = Store(tmp_path / "store.db")
    for n in range(12):
        store.cache_put(f"k{n}", "m", request(judge, f"item {n}"), reply(n), {})
    store.close()

    store = Store(tmp_path / "store.db")  # another process: the reply dictionary comes from the store
    try:
        assert [store.cache_get(f"k{n}") for n in range(12)] == [reply(n) for n in range(12)]
        assert store.cache_entry("k7")["response"] == reply(7)
        later = store.conn.execute("SELECT length(response) FROM llm_cache WHERE key='k11'").fetchone()[0]
        assert later < zlib_bytes(reply(11)) / 2
    finally:
        store.close()


def test_a_page_found_again_gets_the_id_its_text_and_url_give_it():
    from types import SimpleNamespace

    from sftgen.steps.answer_search import PageIds, page_document

    ids = PageIds()
    page = SimpleNamespace(final_url="local://corpus/quarks.md", text="Quarks come in six flavours.", title="Quarks",
                           format="markdown")
    hit = SimpleNamespace(url=page.final_url, title=None, backend="local")
    first, again = page_document(hit, page, ids), page_document(hit, page, ids)
    assert first.id == again.id == page_document(hit, page).id
    other = SimpleNamespace(**{**vars(page), "text": "Gluons carry colour."})
    assert page_document(hit, other, ids).id == page_document(hit, other).id != first.id


def test_a_page_found_again_gets_the_record_it_got_without_the_run_s_page_ids():
    """The ids and metas held per run give each hit the record `page_document` makes from scratch (URL
    secrets redacted, the title falling back to the URL), each with its own meta."""
    from types import SimpleNamespace

    from sftgen.steps.answer_search import PageIds, page_document

    ids = PageIds()
    pages = [SimpleNamespace(final_url="https://example.org/a?api_key=s3cret&q=1", text="Quarks come in six flavours.",
                             title=None, format="html"),
             SimpleNamespace(final_url="", text="Gluons carry colour.", title="See https://example.org/b?token=x",
                             format="html"),
             SimpleNamespace(final_url="local://corpus/quarks.md", text="Quarks.", title="Quarks", format="markdown")]
    hits = [SimpleNamespace(url="https://example.org/a?api_key=s3cret&q=1", title="", backend="brave"),
            SimpleNamespace(url="https://example.org/b", title="B", backend="searxng"),
            SimpleNamespace(url="local://corpus/quarks.md", title="Quarks", backend="local")]
    for hit, page in zip(hits, pages):
        fresh = page_document(hit, page)
        held = [page_document(hit, page, ids) for _ in range(3)]
        for record in held:
            assert (record.id, record.kind, record.text, record.meta, record.origin) == \
                (fresh.id, fresh.kind, fresh.text, fresh.meta, fresh.origin)
        assert len({id(record.meta) for record in held}) == 3
        held[0].meta["llm_cache_keys"] = ["k"]  # one record's meta changed leaves the next hit's alone
        assert page_document(hit, page, ids).meta == fresh.meta
        assert "s3cret" not in str(fresh.meta) and "token=x" not in str(fresh.meta)


def test_requests_of_a_template_seen_often_are_compressed_with_a_dictionary_trained_on_them(tmp_path):
    from sftgen.store import Store
    from sftgen.store.llm_cache import TRAIN_AFTER, TRAINED

    writer = "You write a question a student would ask. " + " ".join(f"guideline {n}: be clear" for n in range(80))
    words = [f"{stem}{ending}" for stem in ("quark", "gluon", "hadron", "meson", "baryon", "lepton", "boson", "pion")
             for ending in ("s", " colour", " charge", " mass", " spin", " decay", " field", " jet", " loop", " width")]
    draw = random.Random(7)
    passages = [" ".join(draw.choice(words) for _ in range(40)) for _ in range(40)]  # shared by many requests
    bodies = {f"k{n}": request(writer, f"item {n}: " + " | ".join(draw.sample(passages, 3)))
              for n in range(TRAIN_AFTER + 60)}
    store = Store(tmp_path / "store.db")
    try:
        for key, body in bodies.items():
            store.cache_put(key, "m", json.dumps(body).encode(), {"choices": [{"message": {"content": key}}]}, {})
        openings = [row[0] for row in store.conn.execute("SELECT opening FROM llm_cache_dicts ORDER BY id")]
        assert len(openings) == 4 and sum(opening.startswith(TRAINED) for opening in openings) == 2
        size = dict(store.conn.execute("SELECT key, length(request) FROM llm_cache"))
        sizes = [size[key] for key in bodies]
        assert sum(sizes[-50:]) < sum(sizes[TRAIN_AFTER - 60:TRAIN_AFTER - 10])  # the trained dictionary pays
    finally:
        store.close()
    store = Store(tmp_path / "store.db")  # another process reads both kinds of rows
    try:
        assert {key: store.cache_entry(key)["request"] for key in bodies} == bodies
        assert store.cache_get(f"k{TRAIN_AFTER + 59}") == {"choices": [{"message": {"content": f"k{TRAIN_AFTER + 59}"}}]}
        store.cache_put("again", "m", request(writer, "one more"), {"choices": []}, {})  # uses the trained one
        assert store.conn.execute("SELECT COUNT(*) FROM llm_cache_dicts").fetchone()[0] == 4
        assert store.cache_entry("again")["request"] == request(writer, "one more")
    finally:
        store.close()


def test_a_dictionary_another_process_trained_is_taken_up_once_this_one_has_enough_bodies(tmp_path):
    from sftgen.store import Store
    from sftgen.store.llm_cache import TRAIN_AFTER, TRAINED, opening_of

    writer = "You grade an answer. " + " ".join(f"rule {n}: be fair" for n in range(80))
    draw = random.Random(3)
    bodies = {f"k{n}": request(writer, f"item {n}: " + " ".join(draw.choice(("quark", "gluon", "pion", "meson jet"))
                                                                for _ in range(60)))
              for n in range(2 * TRAIN_AFTER + 1)}
    keys = list(bodies)
    reply = {"choices": [{"message": {"content": "fine"}}]}
    first, second = Store(tmp_path / "store.db"), Store(tmp_path / "store.db")
    try:
        for key in keys[:TRAIN_AFTER - 1]:
            first.cache_put(key, "m", json.dumps(bodies[key]).encode(), reply, {})
        for key in keys[TRAIN_AFTER - 1:2 * TRAIN_AFTER - 1]:  # the second one trains the dictionaries
            second.cache_put(key, "m", json.dumps(bodies[key]).encode(), reply, {})
        trained = dict(second.conn.execute("SELECT opening, id FROM llm_cache_dicts"))
        first.cache_put(keys[-2], "m", json.dumps(bodies[keys[-2]]).encode(), reply, {})  # its TRAIN_AFTER-th
        first.cache_put(keys[-1], "m", json.dumps(bodies[keys[-1]]).encode(), reply, {})
        assert dict(first.conn.execute("SELECT opening, id FROM llm_cache_dicts")) == trained  # none trained again
        last = first.conn.execute("SELECT request FROM llm_rows WHERE n = (SELECT MAX(n) FROM llm_rows)").fetchone()[0]
        assert struct.unpack(">I", last[1:5])[0] in {n for opening, n in trained.items() if opening.startswith(TRAINED)}
        assert {key: first.cache_entry(key)["request"] for key in keys} == bodies
    finally:
        first.close()
        second.close()
    resumed = Store(tmp_path / "store.db")  # a later run compresses with the trained ones and holds no samples
    try:
        resumed.cache_put("again", "m", request(writer, "one more"), reply, {})
        assert opening_of(json.dumps(request(writer, "one more")).encode()) not in resumed.llm_cache._samples
        assert resumed.cache_entry("again")["request"] == request(writer, "one more")
    finally:
        resumed.close()


def test_requests_that_each_open_differently_read_back_whole_with_a_bounded_number_of_codecs_held(tmp_path):
    from sftgen.store import Store
    from sftgen.store.llm_cache import HELD_CODECS

    # Each request opens with its own text (an opening, so a dictionary, per request): more than are held.
    bodies = {f"k{n}": request(f"Item {n}: " + "unique words " * 3 + str(n) * 40, "the same closing question")
              for n in range(HELD_CODECS + 20)}
    replies = {key: {"choices": [{"message": {"content": f"reply to {key}"}}]} for key in bodies}
    store = Store(tmp_path / "store.db")
    try:
        for key, body in bodies.items():
            store.cache_put(key, "m", json.dumps(body).encode(), replies[key], {})
        assert store.conn.execute("SELECT COUNT(*) FROM llm_cache_dicts").fetchone()[0] > HELD_CODECS
        assert len(store.llm_cache._compressors) <= HELD_CODECS
        assert {key: store.cache_entry(key)["request"] for key in bodies} == bodies
        assert {key: store.cache_get(key) for key in reversed(bodies)} == replies
        assert len(store.llm_cache._decompressors) <= HELD_CODECS
    finally:
        store.close()
