"""A scripted LLM for the prompt pipeline on the fake server: it tells the steps' requests apart by the
step name each request carries (the X-Sftgen-Step header) and answers each as a careful model would, driven
by markers in the documents (`Subject: <subdomain>`, `Topic: <topic>`, `OFF-DOMAIN`), so tests can plant what they check."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PROMPT_STEPS = ("chunk_filter", "profile", "generate", "broaden", "rephrase", "prompt_filter")
# Words the scripted prompts are built from, a different handful for each prompt, so that they are
# neither exact, near nor semantic duplicates of one another (dedup runs after the prompt filter).
VOCABULARY = (
    "charm strange bottom top isospin hypercharge parity helicity chirality spinor lattice spacing "
    "renormalisation coupling beta function running scale cutoff jet hadronisation fragmentation "
    "pion kaon proton neutron lambda sigma omega delta resonance width decay branching ratio lifetime "
    "detector calorimeter tracker trigger luminosity collider beam target scattering cross section "
    "form factor structure function parton distribution sea valence gluon splitting colour singlet "
    "octet confinement string tension flux tube glueball tetraquark pentaquark molecule mass spectrum "
    "symmetry breaking condensate anomaly instanton vacuum topology monte carlo sampling correlator "
    "propagator vertex loop diagram amplitude unitarity causality dispersion sum rule heavy quark "
    "effective theory matching coefficient perturbative threshold plasma temperature density phase "
    "transition critical point freeze-out flow viscosity entropy thermal photon dilepton"
).split()
REPHRASE_OPENERS = ["In practice,", "Walk me through", "For a lab course:", "I want to understand", "Briefly:",
                    "Picture a detector:", "Give an account of", "Help me see"]


@dataclass
class PromptScript:
    """Register it with the fake server's `script_steps`; counts requests per step."""

    opener: str = "Could you please explain"
    """How every generated and broadened prompt begins (rephrase tests want one over-represented opener)."""
    false_claims: tuple[str, ...] = ("four types of quarks",)
    requests: Counter = field(default_factory=Counter)

    def __call__(self, step: str | None, body: dict[str, Any]) -> str | None:
        messages = body.get("messages") or []
        user = "\n".join(m["content"] for m in messages if m["role"] == "user")
        if step not in PROMPT_STEPS:
            return None
        self.requests[step] += 1
        return json.dumps(getattr(self, step)(user))

    def chunk_filter(self, user: str) -> dict:
        if "OFF-DOMAIN" in user:
            return {"verdict": "off_domain", "explanation": "The passage is about cooking, not physics."}
        return {"verdict": "keep", "explanation": "On topic and informative."}

    def profile(self, user: str) -> dict:
        subject = marker(user, "Subject") or "quarks"
        topic = marker(user, "Topic") or "quark basics"
        return {"subdomain": subject, "topic": topic, "use_case": f"studying {topic}", "audience": "student",
                "difficulty": "intermediate", "summary": f"The passage explains {topic}."}

    def generate(self, user: str) -> dict:
        topic = re.search(r"^Topic: <TOPIC>(.+?)</TOPIC> \(", user, re.MULTILINE).group(1)
        kinds = re.search(r"Question types, in this order: (.+)\.$", user, re.MULTILINE).group(1).split(", ")
        prompts = [f"{self.opener} {words(topic + kind)} in {topic} ({kind})?" for kind in kinds]
        for claim in self.false_claims:
            if claim in user:
                prompts[0] = f"Since there are {claim}, which one is the heaviest?"
        return {"prompts": prompts}

    def broaden(self, user: str) -> dict:
        original = re.search(r"^Original question: <QUESTION>(.+)</QUESTION>$", user, re.MULTILINE).group(1)
        asked_by = re.search(r"as asked by: (.+)\.$", user, re.MULTILINE).group(1).split("; ")
        targets = [re.fullmatch(r"(.+) at (.+) level", who).groups() for who in asked_by]
        body = original.removeprefix(self.opener).strip()
        return {"variants": [f"{self.opener} {words(body + persona + level)} for a {persona} at {level} level?"
                             for persona, level in targets]}

    def rephrase(self, user: str) -> dict:
        question = re.search(r"^Question: <QUESTION>(.+)</QUESTION>$", user, re.MULTILINE).group(1)
        start = REPHRASE_OPENERS[sum(map(ord, question)) % len(REPHRASE_OPENERS)]
        return {"rewritten": f"{start} {question.removeprefix(self.opener).strip()}"}

    def prompt_filter(self, user: str) -> dict:
        question = re.search(r"<QUESTION>\n(.*)\n</QUESTION>", user, re.DOTALL).group(1)
        for claim in self.false_claims:
            if claim in question:
                return {"verdict": "incorrect_premise", "explanation": f"False claim: there are not {claim}; there are six."}
        return {"verdict": "keep", "explanation": "Clear and answerable."}


def words(key: str, count: int = 7) -> str:
    """`count` words of the vocabulary picked by a hash of `key`: stable per key, different across keys."""
    digest = hashlib.sha256(key.encode()).digest()
    picked: list[str] = []
    for byte_pair in zip(digest[::2], digest[1::2]):
        word = VOCABULARY[(byte_pair[0] * 256 + byte_pair[1]) % len(VOCABULARY)]
        if word not in picked:
            picked.append(word)
        if len(picked) == count:
            break
    return " ".join(picked)


def marker(text: str, name: str) -> str | None:
    found = re.search(rf"{name}: ([^\n.]+)", text)
    return found.group(1).strip() if found else None


def physics_doc(subject: str, topic: str, extra: str = "") -> str:
    """A document the script profiles as `subject` / `topic`; long enough to pass profiles.min_chunk_chars."""
    facts = " ".join(f"Fact {i} about {topic} is stated in this sentence with care." for i in range(6))
    return f"Subject: {subject}.\nTopic: {topic}.\n\n{facts} {extra}\n"
