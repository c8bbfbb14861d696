"""A prompt's candidate answers on the review page in Debian's headless Chromium (as test_review_browser.py):
the candidates side by side, a pick by keyboard (3), a pick edited by mouse, all rejected by keyboard; the
store holds exactly those decisions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sftgen.decisions.log import ReviewLog
from sftgen.project import Project
from sftgen.review.server import running_review_server
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.candidate_project import JudgeByText, make_candidate_project
from tests.test_review_browser import CHROMIUM, browser, item_id, sign_in, wait_for_next  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="needs Debian chromium: run scripts/install-test-deps.sh")

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    ("What is a baryon made of, and how does it differ from a meson?", "quarks"),
]
EDITED = "Gluons carry colour charge, so they couple to each other [1]."


def test_picking_among_candidates_in_the_browser(tmp_path, browser):  # noqa: F811
    root = tmp_path / "p"

    def build():  # in its own thread: playwright's sync API keeps an event loop running in this one
        with running_fake_server() as llm:
            return make_candidate_project(root, PROMPTS, llm, JudgeByText(default=3), policy="all", kinds=["answer"])

    with ThreadPoolExecutor(1) as pool:
        a, b, c = pool.submit(build).result(timeout=600)
    with running_review_server(Project.open(root)) as server:
        ana = sign_in(browser, server.url, "ana")
        assert item_id(ana) == a.ids[0]
        assert len(ana.query_selector_all("[data-testid=candidate]")) == 3
        assert ana.inner_text("[data-testid=prompt-of-answer]") == PROMPTS[0][0]
        assert [ana.inner_text(f"[data-testid=candidate] >> nth={n} >> [data-testid=text]") for n in range(3)] == a.texts
        assert len(ana.query_selector_all("[data-testid=candidate] >> nth=0 >> [data-testid=passage]")) >= 1
        ana.keyboard.press("3")  # keyboard: pick the third
        assert wait_for_next(ana, a.ids[0]) == b.ids[0]

        ana.click("[data-testid=candidate] >> nth=0 >> summary")  # mouse: edit the first, then pick it
        ana.fill("[data-testid=candidate] >> nth=0 >> [data-testid=edited-text]", EDITED)
        ana.click("#pick-1")
        assert wait_for_next(ana, b.ids[0]) == c.ids[0]

        ana.keyboard.press("r")
        ana.fill("[data-testid=reason-text]", "none of them answers it")
        ana.press("[data-testid=reason-text]", "Enter")
        wait_for_next(ana, c.ids[0])
        assert ana.query_selector("[data-testid=done]") is not None

    store = Project.open(root).store()
    try:
        decisions = ReviewLog(store).decisions()
    finally:
        store.close()
    assert [(d.item_id, d.decision, d.picked, d.edited_text, d.reason) for d in decisions] == [
        (a.ids[2], "accept", True, None, None), (b.ids[0], "edit", True, EDITED, None),
        *[(candidate, "reject", False, None, "none of them answers it") for candidate in c.ids]]
