"""The review app's lean queue (texts and most of the meta left unread) holds the same items, in the same
order, with the same states and progress as the queue built from whole records, under every review policy,
and the same subdomains once a subdomain filter has asked for them; its `pick_next` finds the item a scan of the whole selection finds; and the progress it
keeps up to date after its own decisions is the progress of a queue built afresh."""

from __future__ import annotations

import pytest

from sftgen.decisions.log import Decision
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.review.queue import STATUSES, ReviewQueue
from tests.support.review_project import emit, make_review_project, seed_answer, seed_prompts

PROMPTS = [(f"Question {n} about {'quarks' if n % 3 else 'gluons'}?", "quarks" if n % 3 else "gluons")
           for n in range(9)]
SCORES = [{"style": s, "domain": s, "groundedness": s} for s in (1, 3, 5, 4, 2, 3, 5, 1, 3)]


def queues(root):
    project = Project.open(root)
    store = project.store()
    pipeline = standard_pipeline(project.recipe)
    return store, ReviewQueue(store, pipeline, project.recipe), ReviewQueue(store, pipeline, project.recipe, lean=True)


def summary(items):
    return [(item.id, item.kind, item.state.status, item.state.version_id, len(item.state.decisions), item.subdomain,
             [member.id for member in item.candidates]) for item in items]


def reference_pick(selection, order, after, back):
    """What the app did before `pick_next`: the whole selection, then the one after (or before) `after`."""
    if not selection:
        return None
    if after is None or after not in order:
        return selection[0]
    position = {item_id: index for index, item_id in enumerate(order)}
    here = position[after]
    if back:
        earlier = [item_id for item_id in selection if position[item_id] < here]
        return earlier[-1] if earlier else None
    later = [item_id for item_id in selection if position[item_id] > here]
    if later:
        return later[0]
    wrapped = [item_id for item_id in selection if item_id != after]
    return wrapped[0] if wrapped else None


@pytest.fixture(params=["all", "uncertain", "sample"])
def reviewed(tmp_path, request):
    root = make_review_project(tmp_path / "p", review={"policy": request.param, "sample_rate": 0.5,
                                                       "uncertain_band": [2.5, 3.5]})
    prompts = seed_prompts(root, PROMPTS)
    answers = [seed_answer(root, prompt, f"Answer {n} [1].", SCORES[n]) for n, prompt in enumerate(prompts)]
    flagged = Record(kind="answer", text="A flagged answer.", parent_ids=[prompts[0].id], step="answer",
                     meta={"prompt_id": prompts[0].id, "needs_review": True})  # no subdomain: its prompt's
    emit(root, "answer_eval", [flagged])
    dropped = Record(kind="prompt", text="Dropped by a filter", meta={"subdomain": "quarks"}, step="generate",
                     status=Status.DROPPED, reason="too_short")
    emit(root, "dedup", [dropped])
    store, _, lean = queues(root)
    log = lean.log
    log.record(Decision(item_id=prompts[1].id, kind="prompt", version_id=prompts[1].id, reviewer="ana",
                        decision="accept"))
    log.record(Decision(item_id=prompts[2].id, kind="prompt", version_id=prompts[2].id, reviewer="bo",
                        decision="reject", reason="off topic"))
    log.record(Decision(item_id=answers[4].id, kind="answer", version_id=answers[4].id, reviewer="bo",
                        decision="edit", edited_text="A better answer [1]."))
    store.close()
    return root, prompts, answers


def test_the_lean_queue_is_the_queue_of_whole_records(reviewed):
    root, _, _ = reviewed
    store, full, lean = queues(root)
    for kind in full.kinds:
        without_subdomains = [entry[:5] + entry[6:] for entry in summary(full.items(kind))]
        assert [entry[:5] + entry[6:] for entry in summary(lean.items(kind))] == without_subdomains
        assert lean.progress(kind) == full.progress(kind)
        lean.fill_subdomains(kind)  # read when a subdomain filter first asks
        assert summary(lean.items(kind)) == summary(full.items(kind))
        assert all(item.record.text == "" for item in lean.items(kind))
    assert lean.counts() == full.counts()
    store.close()


def test_pick_next_finds_what_a_scan_of_the_whole_selection_finds(reviewed):
    root, _, _ = reviewed
    store, full, lean = queues(root)
    for kind in full.kinds:
        order = [item.id for item in full.items(kind)]
        for status in STATUSES:
            for subdomain in (None, "quarks", "gluons"):
                for reviewer in ("ana", "bo", "cy"):
                    selection = [item.id for item in full.select(kind, reviewer, status, subdomain)]
                    for after in [None, "not-an-item", *order]:
                        for back in (False, True):
                            assert lean.pick_next(kind, reviewer, status, subdomain, after, back) == \
                                reference_pick(selection, order, after, back), (kind, status, subdomain, after, back)
    store.close()


def test_progress_kept_up_after_the_apps_own_decisions_is_that_of_a_fresh_queue(reviewed):
    root, prompts, _ = reviewed
    store, _, lean = queues(root)
    lean.progress("prompt")  # built and tallied before the decisions
    for reviewer, prompt in (("cy", prompts[3]), ("ana", prompts[4]), ("cy", prompts[1]), ("ana", prompts[1])):
        if lean.find(prompt.id) is None or prompt.id not in lean.position("prompt"):
            continue
        lean.log.record(Decision(item_id=prompt.id, kind="prompt", version_id=prompt.id, reviewer=reviewer,
                                 decision="accept"))
        lean.decided(prompt.id, "prompt")
    _, fresh, _ = queues(root)
    assert lean.progress("prompt") == fresh.progress("prompt")
    lean.fill_subdomains("prompt")
    assert summary(lean.items("prompt")) == summary(fresh.items("prompt"))
    store.close()
