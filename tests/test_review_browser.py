"""The review page in Debian's headless Chromium (Python playwright; `scripts/install-test-deps.sh` installs
the browser): two reviewers accept, reject with a reason, edit, and rate an answer, by mouse and by
keyboard; a `<script>` prompt stays inert; the agreement page shows their kappa; the store holds exactly
those decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftgen.project import Project
from sftgen.decisions.log import ReviewLog
from sftgen.review.server import running_review_server
from tests.support.review_project import SCRIPT_PROMPT, make_review_project, seed_answer, seed_prompts

CHROMIUM = "/usr/bin/chromium"
EDITED = "How many quark flavours are there, and which quark is the heaviest?"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian chromium: run scripts/install-test-deps.sh")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def sign_in(browser, url: str, name: str):
    page = browser.new_context().new_page()
    page.goto(url)
    page.fill("[data-testid=name]", name)
    page.click("button[type=submit].accept")
    page.wait_for_selector("[data-testid=item]")
    return page


def item_id(page) -> str:
    return page.get_attribute("[data-testid=item]", "data-item-id")


def wait_for_next(page, previous: str) -> str:
    page.wait_for_function(
        "prev => { const el = document.querySelector('[data-testid=item]');"
        " return !el || el.dataset.itemId !== prev; }", arg=previous)
    return item_id(page) if page.query_selector("[data-testid=item]") else ""


def test_two_reviewers_in_the_browser(tmp_path, browser):
    root = make_review_project(tmp_path / "p", review={"reviews_required": 2})
    short, gluons, script = seed_prompts(root)
    answer = seed_answer(root, short, "Six flavours [1]; the top quark is the heaviest [2].",
                         {"style": 4, "domain": 4, "groundedness": 3})
    with running_review_server(Project.open(root)) as server:
        ana = sign_in(browser, server.url, "ana")
        assert item_id(ana) == short.id and ana.inner_text("[data-testid=reviewer]") == "reviewer: ana"

        ana.click("#accept")  # mouse
        assert wait_for_next(ana, short.id) == gluons.id

        ana.keyboard.press("r")  # keyboard: r opens the reasons, Enter confirms
        ana.select_option("[data-testid=reject-reason]", "unclear")
        ana.press("[data-testid=reject-reason]", "Enter")
        assert wait_for_next(ana, gluons.id) == script.id

        assert ana.inner_text("[data-testid=text]") == SCRIPT_PROMPT  # shown as text...
        assert ana.evaluate("window.__pwned === undefined")  # ...and never run
        ana.keyboard.press("e")
        ana.fill("[data-testid=edited-text]", EDITED)
        ana.press("[data-testid=edited-text]", "Control+Enter")
        wait_for_next(ana, script.id)
        assert ana.query_selector("[data-testid=done]") is not None

        ana.goto(f"{server.url}/next?kind=answer")
        assert item_id(ana) == answer.id
        assert ana.inner_text("[data-testid=prompt-of-answer]") == short.text
        assert len(ana.query_selector_all("[data-testid=passage]")) == 2
        assert "<b>bold?</b>" in ana.inner_text("[data-testid=passage] >> nth=0")
        for key in ("4", "2", "5"):  # one score per rubric scale, in order
            ana.keyboard.press(key)
        assert ana.is_checked("input[name=score_domain][value='2']")
        ana.keyboard.press("a")
        wait_for_next(ana, answer.id)

        bob = sign_in(browser, server.url, "bob")
        assert item_id(bob) == short.id  # ana's decisions wait for a second reviewer
        bob.keyboard.press("j")
        assert wait_for_next(bob, short.id) == gluons.id
        bob.keyboard.press("k")
        assert wait_for_next(bob, gluons.id) == short.id
        bob.keyboard.press("a")
        assert wait_for_next(bob, short.id) == gluons.id
        bob.keyboard.press("a")
        assert wait_for_next(bob, gluons.id) == script.id
        bob.keyboard.press("r")
        bob.keyboard.press("Escape")
        bob.keyboard.press("r")  # r again confirms with the reason chosen (the first, 'irrelevant')
        wait_for_next(bob, script.id)
        bob.goto(f"{server.url}/next?kind=answer")
        for key in ("5", "1", "4"):
            bob.keyboard.press(key)
        bob.keyboard.press("a")
        wait_for_next(bob, answer.id)

        progress = bob.inner_text("[data-testid=progress]")
        assert "settled 1 / 1" in progress and "ana: 1" in progress and "bob: 1" in progress
        bob.goto(f"{server.url}/next?kind=prompt&status=all")
        assert "settled 1 / 3" in bob.inner_text("[data-testid=progress]")
        bob.goto(f"{server.url}/stats")
        rows = bob.inner_text("[data-testid=agreement]")
        assert "prompt\tana & bob\t3\t1\t-0.50" in rows  # kappa of [A,R,A] vs [A,A,R]
        assert "style: n/a" in rows  # one shared answer: too few for a correlation
        assert "groundedness" in bob.inner_text("[data-testid=calibration]")

    store = Project.open(root).store()
    try:
        log = ReviewLog(store)
        made = [(d.reviewer, d.item_id, d.decision, d.reason, d.edited_text, d.scores) for d in log.decisions()]
        assert made == [
            ("ana", short.id, "accept", None, None, {}),
            ("ana", gluons.id, "reject", "unclear", None, {}),
            ("ana", script.id, "edit", None, EDITED, {}),
            ("ana", answer.id, "accept", None, None, {"style": 4, "domain": 2, "groundedness": 5}),
            ("bob", short.id, "accept", None, None, {}),
            ("bob", gluons.id, "accept", None, None, {}),
            ("bob", script.id, "reject", "irrelevant", None, {}),
            ("bob", answer.id, "accept", None, None, {"style": 5, "domain": 1, "groundedness": 4}),
        ]
        assert all(d.seconds is not None and d.seconds >= 0 for d in log.decisions())
        edited = store.get(log.decisions([script.id])[0].new_version_id)
        assert edited.text == EDITED and edited.parent_ids == [script.id]
        assert {item: log.state(item, 2).status for item in (short.id, gluons.id, script.id, answer.id)} == {
            short.id: "accepted", gluons.id: "disputed", script.id: "disputed", answer.id: "accepted"}
    finally:
        store.close()
