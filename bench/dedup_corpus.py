"""A deterministic synthetic prompt set with planted duplicates, for bench/dedup_bench.py.

Base prompts are built from many independent slots (domain, persona, situation, task frame, subject,
aspect, constraint), so two base prompts seldom share more than a few content words by chance; they
are the "distinct" prompts. Planted duplicates of a base are:
- exact:      the same text with other case, spacing and punctuation;
- near:       two or three words swapped for synonyms, a filler added or dropped;
- paraphrase: the same slots said again with another frame, another persona intro, synonyms for the
              aspect and the constraint, and sometimes the question before the context.
No downloads, no model: templates and word lists written for this benchmark.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DOMAINS = {  # subjects, situations, and conditions as (phrase, its paraphrase)
    "particle physics": (
        ["the strange quark", "gluon jets", "the Higgs boson", "neutrino oscillations", "the top quark",
         "lattice QCD", "pion decay", "the proton radius", "colour confinement", "B meson mixing",
         "the muon g-2 anomaly", "deep inelastic scattering", "quark-gluon plasma", "the CKM matrix"],
        ["particle accelerator experiments", "a detector calibration campaign", "a graduate seminar"],
        [("at energies above one TeV", "beyond the TeV scale"), ("in heavy-ion collisions", "when heavy ions collide"),
         ("at finite temperature", "when the temperature is not zero"), ("in early-universe cosmology", "in the first moments after the Big Bang"),
         ("with limited detector resolution", "when the detector resolution is poor"), ("in fixed-target setups", "in experiments that shoot beams at fixed targets")],
    ),
    "web development": (
        ["React hooks", "HTTP caching headers", "CSS grid layouts", "WebSocket connections", "JWT sessions",
         "server-side rendering", "database connection pools", "CORS policies", "GraphQL resolvers",
         "service workers", "OAuth refresh tokens", "rate limiting middleware", "lazy image loading"],
        ["an online shop with spiky traffic", "a small startup's dashboard", "a legacy PHP migration"],
        [("on slow mobile networks", "when users are on poor mobile connections"), ("behind a CDN", "with a content delivery network in front"),
         ("in a multi-tenant SaaS", "when many customers share one deployment"), ("during a traffic spike", "when load suddenly jumps"),
         ("under strict privacy rules", "when privacy regulations are tight"), ("in a microservice architecture", "across many small services")],
    ),
    "home cooking": (
        ["sourdough starters", "braised short ribs", "cast iron pans", "homemade pasta dough", "fermented kimchi",
         "sous vide salmon", "pie crust lamination", "tomato sauce reduction", "risotto rice", "roast chicken brining",
         "chocolate tempering", "pickled vegetables", "stock clarification"],
        ["a dinner party for eight", "a tiny apartment kitchen", "weekly meal preparation"],
        [("at high altitude", "when cooking in the mountains"), ("for guests with nut allergies", "when some guests are allergic to nuts"),
         ("in a humid summer kitchen", "when the kitchen is hot and damp"), ("with only a gas stovetop", "without an oven, on gas burners"),
         ("for a vegan menu", "without any animal products"), ("when scaling a recipe tenfold", "when making ten times the usual amount")],
    ),
    "personal finance": (
        ["index fund investing", "mortgage refinancing", "emergency savings", "credit card debt", "retirement accounts",
         "capital gains tax", "student loan repayment", "inflation-protected bonds", "budgeting apps",
         "rental property income", "currency exchange fees", "health savings accounts", "dividend reinvestment"],
        ["a household with two incomes", "a freelancer with irregular pay", "a couple planning early retirement"],
        [("when interest rates rise", "as rates go up"), ("during a recession", "in an economic downturn"),
         ("after moving abroad", "once you relocate to another country"), ("with a newborn child", "when a baby has just arrived"),
         ("close to retirement age", "a few years before retiring"), ("after a job loss", "when income suddenly stops")],
    ),
    "gardening": (
        ["tomato blight", "raised bed soil", "drip irrigation", "compost heaps", "rose pruning", "aphid infestations",
         "lawn aeration", "seed starting indoors", "fruit tree grafting", "mulching strawberries",
         "clay soil drainage", "companion planting", "greenhouse ventilation"],
        ["a shady urban backyard", "an allotment in a dry summer", "a balcony with containers"],
        [("after a late frost", "when frost comes late in spring"), ("during a drought", "when rain has not fallen for weeks"),
         ("in acidic soil", "where the soil pH is low"), ("near the coast", "in salty seaside air"),
         ("without chemical pesticides", "using no synthetic sprays"), ("in heavy shade", "where sunlight barely reaches")],
    ),
    "clinical medicine": (
        ["type 2 diabetes management", "antibiotic resistance", "asthma inhalers", "blood pressure monitoring",
         "migraine prevention", "vitamin D deficiency", "post-surgical wound care", "iron deficiency anaemia",
         "sleep apnoea", "statin side effects", "childhood vaccination schedules", "thyroid function tests",
         "lower back pain"],
        ["a rural general practice", "a busy emergency department", "a community pharmacy"],
        [("in elderly patients", "for people over eighty"), ("during pregnancy", "for expectant mothers"),
         ("with kidney impairment", "when the kidneys work poorly"), ("in shift workers", "for people on night shifts"),
         ("in low-resource settings", "where equipment and staff are scarce"), ("in competitive athletes", "for people who train at elite level")],
    ),
}

ASPECTS = [  # (aspect, its synonym)
    ("the main risks", "the biggest dangers"), ("the typical costs", "the usual expenses"),
    ("the common mistakes", "the frequent errors"), ("the underlying mechanism", "the inner workings"),
    ("the best practices", "the recommended approaches"), ("the long-term effects", "the consequences over time"),
    ("the key trade-offs", "the main compromises"), ("the history", "the historical background"),
    ("the warning signs of trouble", "the early signs of failure"),
    ("the measurement methods", "the ways of measuring"), ("the limitations", "the weak points"),
    ("the latest developments", "the most recent advances"),
]
ANGLES = [  # a second content qualifier: (phrase, its paraphrase); 78 subjects x 6 conditions x 8 angles topics
    ("as covered in textbooks", "the way textbooks present it"), ("in recent research results", "according to the latest studies"),
    ("in day-to-day practice", "in everyday real-world use"), ("from a cost perspective", "in terms of money spent"),
    ("from a safety standpoint", "with safety in mind"), ("over the last twenty years", "across the past two decades"),
    ("in regulatory guidance", "as the official guidelines describe it"), ("in popular misconceptions", "in the myths people often believe"),
]
PERSONAS = [  # (intro, its paraphrase)
    ("I am a beginner", "I'm new to this"), ("As a teacher preparing a lesson", "I teach this and am planning a class"),
    ("I work as an engineer", "My job is in engineering"), ("As a curious retiree", "I'm retired and curious"),
    ("I am writing a report", "I'm putting together a report"), ("As a researcher", "I do research in the area"),
    ("I manage a small team", "I lead a small group at work"), ("As a student with an exam next week", "I have an exam in a week"),
]
CONSTRAINTS = [  # (constraint, its paraphrase)
    ("in under two hundred words", "briefly, in less than 200 words"), ("with one worked example", "including a concrete example"),
    ("step by step", "one step at a time"), ("without jargon", "in plain language"),
    ("citing the numbers that matter", "with the relevant figures"), ("as a short checklist", "in the form of a brief checklist"),
    ("comparing at least two options", "weighing two or more alternatives"), ("for a non-specialist audience", "for people outside the field"),
]
FRAMES = {  # task type -> ways to ask it; {s} subject, {a} aspect, {k} constraint
    "explain": ["Explain {a} of {s}, {k}.", "Can you walk me through {a} of {s}, {k}?",
                "Help me understand {a} of {s} {k}.", "I keep reading about {s}. What are {a}? Keep it {k}.",
                "Break down {a} of {s} for me, {k}.", "What exactly are {a} of {s}? Please go {k}."],
    "how-to": ["How should I handle {a} of {s}? Answer {k}.", "What is the right way to deal with {a} of {s}, {k}?",
               "Give me practical guidance on {a} of {s}, {k}.", "What would you do about {a} of {s}? Tell me {k}.",
               "Suggest a plan for {a} of {s}, {k}.", "Where do I start with {a} of {s}? Answer {k}."],
    "troubleshoot": ["Something is going wrong with {s}; what should I check about {a}? Please answer {k}.",
                     "I have a problem with {s}. Which parts of {a} could cause it? Reply {k}.",
                     "Help me troubleshoot {s} by looking at {a}, {k}.",
                     "My results with {s} look off. Could {a} be to blame? Explain {k}.",
                     "Diagnose what might fail with {s}, focusing on {a}, {k}.",
                     "Why might {s} go badly, considering {a}? Walk through it {k}."],
    "compare": ["Compare {a} of {s} with the usual alternatives, {k}.",
                "How does {s} stack up against its alternatives regarding {a}? Answer {k}.",
                "Contrast {s} and the alternatives in terms of {a}, {k}.",
                "Which is better for {a}: {s} or the common alternatives? Decide {k}.",
                "Put {s} side by side with other options, looking at {a}, {k}.",
                "Weigh {s} against alternatives on {a}; respond {k}."],
    "opinion": ["Is it worth paying attention to {a} of {s}? Give your view {k}.",
                "Do {a} of {s} really matter? Tell me what you think, {k}.",
                "What is your honest opinion about {a} of {s}, {k}?",
                "Are people overrating {a} of {s}? Argue your position {k}.",
                "Should I care about {a} of {s} at all? Share your take {k}.",
                "Give me your judgement on {a} of {s}, {k}."],
}
NEAR_SWAPS = {"explain": "describe", "should": "could", "problem": "issue", "right": "correct", "give": "offer",
              "help": "assist", "something": "something", "practical": "useful", "usual": "common", "really": "truly",
              "honest": "frank", "worth": "useful", "check": "inspect", "please": "kindly", "answer": "respond"}
CONTEXTS = ["{p}, dealing with {s}.", "{p}. I'm working on {s}.", "Background: {s}. {p}.", "{p}, and the setting is {s}.",
            "Some context: {s}.", "{p}.", "", ""]  # empty: no context sentence
FILLERS = ["please", "really", "quickly", "actually"]


@dataclass
class Prompt:
    text: str
    group: int
    """Index of the base prompt this one was made from (a base is its own group)."""
    kind: str  # base | exact | near | paraphrase


@dataclass(frozen=True)
class Slots:
    domain: str
    subject: str
    situation: str
    persona: int
    condition: int
    angle: int
    aspect: int
    constraint: int
    task: str
    frame: int
    context: int


def make_corpus(total: int = 20_000, duplicate_share: float = 0.3, seed: int = 7, angles: bool = True) -> list[Prompt]:
    """`angles=False`: a narrow corpus (468 topics for 14,000 prompts, ~30 distinct prompts a topic)."""
    rng = random.Random(seed)
    n_base = int(total * (1 - duplicate_share))
    slots = distinct_slots(rng, n_base, angles)
    bases = [Prompt(render(s, angles=angles), group, "base") for group, s in enumerate(slots)]
    return with_planted_copies(
        bases, total, rng, near=near_variant,
        paraphrase=lambda group: render(slots[group], paraphrased=True, rng=rng, angles=angles),
    )


def with_planted_copies(bases: list[Prompt], total: int, rng: random.Random, near, paraphrase) -> list[Prompt]:
    """The bases plus copies of random bases up to `total`, exact, near (`near(text, rng)`) and
    paraphrase (`paraphrase(group)`) in turn, shuffled."""
    prompts = list(bases)
    kinds = ["exact", "near", "paraphrase"]
    while len(prompts) < total:
        group = rng.randrange(len(bases))
        kind = kinds[len(prompts) % 3]
        base = prompts[group].text
        if kind == "exact":
            text = exact_variant(base, rng)
        elif kind == "near":
            text = near(base, rng)
        else:
            text = paraphrase(group)
        prompts.append(Prompt(text, group, kind))
    rng.shuffle(prompts)
    return prompts


def distinct_slots(rng: random.Random, count: int, angles: bool = True) -> list[Slots]:
    seen: list[Slots] = []  # a list, not a set: set order follows the per-process string hash seed
    content: set[tuple] = set()
    while len(seen) < count:
        domain = rng.choice(list(DOMAINS))
        subjects, situations, conditions = DOMAINS[domain]
        task = rng.choice(list(FRAMES))
        s = Slots(domain, rng.choice(subjects), rng.choice(situations), rng.randrange(len(PERSONAS)),
                  rng.randrange(len(conditions)), rng.randrange(len(ANGLES) if angles else 1), rng.randrange(len(ASPECTS)), rng.randrange(len(CONSTRAINTS)), task,
                  rng.randrange(len(FRAMES[task])), rng.randrange(len(CONTEXTS)))
        # A distinct prompt asks something else: persona, setting, frame and constraint alone are no new content.
        key = (s.subject, s.condition, s.angle, s.aspect, s.task)
        if key not in content:
            content.add(key)
            seen.append(s)
    return seen


def render(s: Slots, paraphrased: bool = False, rng: random.Random | None = None, angles: bool = True) -> str:
    """The base wording, or (paraphrased, with rng) the same request reworded the way a rephrasing LLM
    does: another frame and persona phrase, synonyms for some slots, the key terms kept."""
    def pick(pair: tuple[str, str], share: float) -> str:
        return pair[1] if paraphrased and rng is not None and rng.random() < share else pair[0]

    persona = pick(PERSONAS[s.persona], 1.0)
    aspect = pick(ASPECTS[s.aspect], 0.5)
    constraint = pick(CONSTRAINTS[s.constraint], 0.5)
    condition = pick(DOMAINS[s.domain][2][s.condition], 0.3)
    if angles:
        condition += " " + pick(ANGLES[s.angle], 0.3)
    frames = FRAMES[s.task]
    frame = frames[s.frame]
    if paraphrased and rng is not None:
        frame = frames[(s.frame + rng.randrange(1, len(frames))) % len(frames)]
    question = frame.format(s=f"{s.subject} {condition}", a=aspect, k=constraint)
    question = question[0].upper() + question[1:]
    if paraphrased:  # the same context parts as the base: a rewording adds no persona or setting
        has_persona, has_situation = "{p}" in CONTEXTS[s.context], "{s}" in CONTEXTS[s.context]
        if has_persona and has_situation:
            context = f"{persona}; my setting is {s.situation}."
        elif has_persona:
            context = f"{persona}."
        elif has_situation:
            context = f"My setting is {s.situation}."
        else:
            context = ""
    else:
        context = CONTEXTS[s.context].format(p=persona, s=s.situation)
    if not context:
        return question
    if paraphrased and rng is not None and rng.random() < 0.5:
        return f"{question} For context: {context[0].lower() + context[1:]}"
    return f"{context} {question}"


def exact_variant(text: str, rng: random.Random) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return text.lower()
    if choice == 1:
        return "  " + text.replace(" ", "  ", 3) + " "
    if choice == 2:
        return text.rstrip(".?!") + ("??" if text.endswith("?") else "!")
    return text.upper()


def near_variant(text: str, rng: random.Random) -> str:
    words = text.split()
    swappable = [i for i, w in enumerate(words) if w.lower().strip(",.?;") in NEAR_SWAPS]
    changes = 0
    for i in rng.sample(swappable, min(len(swappable), 2)):
        core = words[i].lower().strip(",.?;")
        words[i] = words[i].replace(core, NEAR_SWAPS[core]).replace(core.capitalize(), NEAR_SWAPS[core].capitalize())
        changes += 1
    while changes < 3:  # add or drop a filler word somewhere
        position = rng.randrange(1, len(words))
        if words[position - 1].lower() in FILLERS:
            del words[position - 1]
        else:
            words.insert(position, rng.choice(FILLERS))
        changes += 1
    return " ".join(words)
