"""Makes the example project (`sftgen init`), runs it on the fake OpenAI server with a scripted model
(the prompt-pipeline test script, profiling each chunk by its keywords), writes a small reference set of
human-written prompts and runs `sftgen report --reference` on it. Prints where the report is.

    .venv/bin/python bench/report_example.py /tmp/quarks-report
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server  # noqa: E402
from tests.support.prompt_script import PromptScript  # noqa: E402

SFTGEN = str(Path(sys.executable).parent / "sftgen")
SUBDOMAIN_WORDS = {"hadrons": ("hadron", "baryon", "meson", "proton", "neutron"),
                   "gluons and the strong force": ("gluon", "strong force", "confinement", "colour")}
TOPICS = ("flavour", "charge", "mass", "confinement", "colour", "baryon", "meson", "proton", "spin", "decay")
REFERENCE = [
    "Why can't we see a free quark?", "What holds the protons in a nucleus together?",
    "How many quarks are in a proton and which ones?", "What is colour charge, in plain words?",
    "Why is the top quark so heavy compared with the others?", "What does a gluon do?",
    "Explain asymptotic freedom to a first-year student.", "Is a pion a baryon or a meson?",
    "How were quarks discovered?", "What is the difference between a hadron and a lepton?",
]


class ExampleScript(PromptScript):
    """Profiles a chunk by the words in it (the example's documents carry no test markers)."""

    def profile(self, user: str) -> dict:
        found = re.search(r"<PASSAGE>\n(.*)\n</PASSAGE>", user, re.DOTALL)
        lowered = (found.group(1) if found else user).lower()
        hits = {name: sum(lowered.count(w) for w in words) for name, words in SUBDOMAIN_WORDS.items()}
        best = max(hits, key=hits.get)
        subdomain = best if hits[best] > lowered.count("quark") else "quarks"
        topic = next((t for t in TOPICS if t in lowered), "quark basics")
        return {"subdomain": subdomain, "topic": f"{topic} of {subdomain}", "use_case": f"studying {topic}",
                "audience": "student", "difficulty": "intermediate", "summary": f"The passage explains {topic}."}


def main(project: Path) -> None:
    subprocess.run([SFTGEN, "init", str(project)], check=True, capture_output=True)
    recipe = project / "recipe.yaml"
    recipe.write_text(re.sub(r"target_total: \d+", "target_total: 40", recipe.read_text()))
    with running_fake_server(FakeServerConfig()) as server:
        server.script_steps(ExampleScript(opener="What is"))
        env = {**os.environ, "SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": server.base_url,
               "SFTGEN_LLM_MODEL": "fake"}
        subprocess.run([SFTGEN, "run", str(project)], check=True, env=env, capture_output=True)
    reference = project / "reference.jsonl"
    reference.write_text("".join(json.dumps({"prompt": text}) + "\n" for text in REFERENCE))
    started = time.perf_counter()
    subprocess.run([SFTGEN, "report", str(project), "--reference", str(reference)], check=True)
    print(f"report in {time.perf_counter() - started:.1f} s: {project / 'report' / 'index.html'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sftgen-report-example").resolve())
