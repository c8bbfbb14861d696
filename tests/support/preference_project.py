"""A project whose answers went through the real answer steps (fake LLM server, local search corpus) and real
review decisions (the review decisions API, as the review app records them), made so that every source of
preference pairs that exists today has something to pair:

1. the package's answer template answers four prompts (FIRST); bob rejects the quark answer;
2. the project overrides the answer template (as a user does after rejections), so the next run answers all
   four again (SECOND); ana accepts the new quark answer, edits the gluon-interaction answer, rejects the
   gluon-mass answer, and "edits" the hadron answer into the text it had;
3. `sftgen run` applies the decisions (no LLM request).

`made.ids` names every record a test needs: prompt / first / second / edited, by prompt key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sftgen.llm.templates import PACKAGE_TEMPLATES
from sftgen.decisions.log import Decision, ReviewLog
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import (make_answer_project, run_answers, scores_reply, seed_prompts, template_of,
                                          user_text)

SYSTEM_PROMPT = "You are a physics tutor."
PROMPTS = {
    "quarks": ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    "interaction": ("Why do gluons interact with each other, unlike photons?", "gluons"),
    "mass": ("Do gluons have mass?", "gluons"),
    "hadrons": ("What are hadrons made of?", "quarks"),
}
TERSE = "Answer in at most two sentences."
"""The line the project's own answer template adds: the fake server tells the two templates apart by it."""
FIRST = {
    "quarks": "There are three quarks, up, down and strange [1].",
    "interaction": "Gluons interact because they are heavy [1].",
    "mass": "Gluons weigh about as much as a proton [1].",
    "hadrons": "Hadrons are made of electrons [1].",
}
SECOND = {
    "quarks": "Six flavours: up, down, strange, charm, bottom and top, with charges +2/3 or −1/3 [1].",
    "interaction": "Gluons carry colour charge themselves, so they couple to each other [1].",
    "mass": "Gluons have a mass of several GeV [1].",
    "hadrons": "Hadrons are quarks bound by gluons: three in a baryon, a quark and an antiquark in a meson [1].",
}
EDITED_INTERACTION = ("Gluons carry colour charge themselves, so they couple to each other; photons carry no "
                      "electric charge and do not [1]. 色荷 — «colour» 🙂")
FIRST_SCORE, SECOND_SCORE = 3, 4
REJECT_QUARKS = "incorrect: there are six flavours"
REJECT_MASS = "incorrect: gluons are massless"


@dataclass
class ReviewedProject:
    root: Path
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    requests_in_last_run: int = 0


def which_prompt(text: str) -> str:
    return next(key for key, (prompt, _) in PROMPTS.items() if prompt in text)


class Script:
    """The fake server's replies: FIRST or SECOND by the template, the judge's scores by the answer; counts requests."""

    def __init__(self):
        self.requests = 0

    def __call__(self, step, body):
        self.requests += 1
        return reply(step, body)


def reply(step, body):
    template = template_of(step, body)
    if template == "answer":
        text = user_text(body)
        return json.dumps({"answer": (SECOND if TERSE in text else FIRST)[which_prompt(text)]})
    if template == "answer_eval":
        text = user_text(body)
        return scores_reply(SECOND_SCORE if any(answer in text for answer in SECOND.values()) else FIRST_SCORE)
    return None


def answers_by_prompt(root: Path, prompt_ids: dict[str, str]) -> dict[str, str]:
    """prompt key -> the id of the answer the pipeline passes on for it."""
    from sftgen.export.kept import kept_records

    project = Project.open(root)
    store = project.store()
    try:
        key_of = {prompt_id: key for key, prompt_id in prompt_ids.items()}
        return {key_of[answer.meta["prompt_id"]]: answer.id
                for answer in kept_records(store, standard_pipeline(project.recipe), "answer")}
    finally:
        store.close()


def record(root: Path, *decisions: Decision) -> list[Decision]:
    project = Project.open(root)
    store = project.store()
    try:
        log = ReviewLog(store, standard_pipeline(project.recipe))
        return [log.record(decision) for decision in decisions]
    finally:
        store.close()


def override_answer_template(root: Path) -> None:
    text = (PACKAGE_TEMPLATES / "answer.jinja").read_text(encoding="utf-8")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "answer.jinja").write_text(text.rstrip("\n") + f"\n{TERSE}\n", encoding="utf-8")


def make_reviewed_project(root: Path) -> ReviewedProject:
    make_answer_project(root, system_prompt=SYSTEM_PROMPT)
    seeded = seed_prompts(root, list(PROMPTS.values()))
    made = ReviewedProject(root, {"prompt": {key: record.id for key, record in zip(PROMPTS, seeded)}})
    with running_fake_server() as server:
        script = Script()
        server.script_steps(script)
        run_answers(root, server)
        made.ids["first"] = first = answers_by_prompt(root, made.ids["prompt"])
        record(root, Decision(first["quarks"], "answer", first["quarks"], "bob", "reject", reason=REJECT_QUARKS))
        run_answers(root, server)

        override_answer_template(root)
        run_answers(root, server)
        made.ids["second"] = second = answers_by_prompt(root, made.ids["prompt"])
        edit, same = record(
            root,
            Decision(second["quarks"], "answer", second["quarks"], "ana", "accept"),
            Decision(second["interaction"], "answer", second["interaction"], "ana", "edit",
                     edited_text=EDITED_INTERACTION, scores={"style": 5, "domain": 5, "groundedness": 4}),
            Decision(second["mass"], "answer", second["mass"], "ana", "reject", reason=REJECT_MASS),
            Decision(second["hadrons"], "answer", second["hadrons"], "ana", "edit",
                     edited_text=SECOND["hadrons"] + "  \n"),
        )[1::2]
        made.ids["edited"] = {"interaction": edit.new_version_id, "hadrons": same.new_version_id}
        before = script.requests
        run_answers(root, server)
        made.requests_in_last_run = script.requests - before
    return made
