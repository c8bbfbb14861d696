"""A small model often answers `generate` with statements, not questions. A profile whose reply holds no
usable prompt is asked again with another seed (`prompts.attempts` requests in all), so a subdomain is not
left short by one bad sample; the first request is the one a single attempt sends, and every attempt is
cached, so a second run asks nothing."""

from __future__ import annotations

from collections import Counter

from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import docs_for, kept_prompts, make_project, progress, recipe, scripted_run


class StatementsFirst(PromptScript):
    """Writes statements to every unseeded `generate` request and questions when a seed is set."""

    def __init__(self):
        super().__init__()
        self.seeds = Counter()

    def __call__(self, step, body):
        if step == "generate":
            self.seeds[body.get("seed")] += 1
            if body.get("seed") is None:
                self.requests[step] += 1
                count = len(super().generate("\n".join(m["content"] for m in body["messages"]
                                                        if m["role"] == "user"))["prompts"])
                return '{"prompts": %s}' % str(["Quarks are small particles of matter."] * count).replace("'", '"')
        return super().__call__(step, body)


def run_with(tmp_path, name, **prompts):
    project = make_project(tmp_path / name, docs_for({"quarks": 2, "gluons": 2, "hadrons": 1}),
                           recipe(target_total=None, per_profile=2, variants_per_prompt=0, **prompts))
    script = StatementsFirst()
    stats = scripted_run(project, script)
    return project, script, stats


def test_a_profile_whose_reply_has_no_question_is_asked_again_with_a_seed(tmp_path):
    project, script, _ = run_with(tmp_path, "p", attempts=2)
    assert script.seeds == {None: 5, 1: 5}  # one unseeded request per profile, one retry each
    prompts = kept_prompts(project)
    assert len(prompts) == 5 * 2
    assert all("?" in p.text for p in prompts)
    rows = progress(project, "generate")
    side = [row for row in rows if row["label"] and "prompt" in row["label"]]
    assert len(side) == 5 * 2 and all(row["reason"] == "not_a_question" for row in side)
    assert all(row["label"].endswith("Quarks are small particles of matter.") for row in side)


def test_one_attempt_keeps_the_old_behaviour_and_reports_the_profile(tmp_path):
    project, script, _ = run_with(tmp_path, "p", attempts=1)
    assert script.seeds == {None: 5}
    assert kept_prompts(project) == []
    drops = Counter(row["reason"] for row in progress(project, "generate") if row["outcome"] == "dropped")
    assert drops["no_usable_prompts"] == 5


def test_every_attempt_is_cached_so_a_second_run_asks_nothing(tmp_path):
    project, script, _ = run_with(tmp_path, "p", attempts=3)
    first = kept_prompts(project)
    script_again = StatementsFirst()
    scripted_run(project, script_again)
    assert sum(script_again.seeds.values()) == 0
    assert sorted(p.id for p in kept_prompts(project)) == sorted(p.id for p in first)
