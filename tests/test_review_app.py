"""The review app over HTTP (FastAPI's test client): filters by subdomain and status, answers whose prompt
was rejected leave the queue, and the app keeps working while another connection (a run) writes."""

from __future__ import annotations

import re
import threading

import pytest

from sftgen.project import Project
from sftgen.decisions.log import ReviewLog
from sftgen.store import open_store
from tests.support.review_client import BASE, csrf_of, signed_in
from tests.support.review_project import make_review_project, seed_answer, seed_prompts

@pytest.fixture
def project(tmp_path):
    root = make_review_project(tmp_path / "p")
    prompts = seed_prompts(root)
    answer = seed_answer(root, prompts[1], "Gluons carry colour [1].", {"style": 4, "domain": 4, "groundedness": 4})
    return root, prompts, answer


def shown_item(response):
    found = re.search(r'data-item-id="([^"]+)"', response.text)
    return found.group(1) if found else None


def decide(client, item_id, **form):
    page = client.get(f"/item/{item_id}")
    version = re.search(r'name="version_id" value="([^"]+)"', page.text).group(1)
    return client.post(f"/item/{item_id}/decide", data={"csrf": csrf_of(page.text), "version_id": version, **form},
                       headers={"origin": BASE}, follow_redirects=False)


def test_filters_by_subdomain_and_status(project):
    root, (quarks, gluons, script), _ = project
    client = signed_in(root)
    assert shown_item(client.get("/next?kind=prompt&subdomain=gluons")) == gluons.id
    assert decide(client, gluons.id, decision="accept").status_code == 303
    assert shown_item(client.get("/next?kind=prompt&status=accepted")) == gluons.id
    assert 'data-testid="done"' in client.get("/next?kind=prompt&subdomain=gluons").text
    assert shown_item(client.get("/next?kind=prompt&subdomain=quarks")) == quarks.id
    after_quarks = client.get(f"/next?kind=prompt&subdomain=quarks&after={quarks.id}")
    assert shown_item(after_quarks) == script.id
    assert decide(client, quarks.id, decision="reject", reason="unclear",
                  reason_text="asks two things at once").status_code == 303
    assert shown_item(client.get("/next?kind=prompt&status=rejected")) == quarks.id
    store = Project.open(root).store()
    try:
        assert [(d.item_id, d.reason) for d in ReviewLog(store).decisions() if d.decision == "reject"] == [
            (quarks.id, "asks two things at once")]  # the reviewer's own words win over the list
    finally:
        store.close()


def test_the_answer_of_a_rejected_prompt_leaves_the_queue(project):
    root, (_, gluons, _), answer = project
    client = signed_in(root)
    assert shown_item(client.get("/next?kind=answer")) == answer.id
    decide(client, gluons.id, decision="reject", reason="irrelevant")
    assert 'data-testid="done"' in client.get("/next?kind=answer").text


def test_pages_and_decisions_work_while_a_run_holds_the_write_lock(project):
    root, (quarks, _, _), _ = project
    client = signed_in(root)
    writer = open_store(root)  # another connection, as `sftgen run` has
    writer.conn.execute("BEGIN IMMEDIATE")
    try:
        page = client.get(f"/item/{quarks.id}")  # WAL: reading is not blocked by the writer
        assert page.status_code == 200 and quarks.text in page.text
        result = {}
        posting = threading.Thread(target=lambda: result.update(response=decide(client, quarks.id, decision="accept")))
        posting.start()
    finally:
        writer.conn.execute("COMMIT")
        writer.close()
    posting.join(timeout=30)
    assert result["response"].status_code == 303  # the decision waited for the run's batch, then went in
    store = Project.open(root).store()
    try:
        assert [d.decision for d in ReviewLog(store).decisions([quarks.id])] == ["accept"]
    finally:
        store.close()
