"""A second, differently built prompt set for bench/dedup_bench.py (`--corpus mixed`).

Where bench/dedup_corpus.py builds every prompt from one sentence skeleton with swappable slots, this
one draws distinct prompts from many unrelated request types (define, compare two things, calculate
with numbers, list N items, plan, debug, history, recommend...) across about 40 fields, each type with
its own shapes of sentence. A distinct prompt is one (type, field, things, numbers) combination.
Planted duplicates of a base:
- exact:      case, spacing and punctuation changed;
- near:       one or two common words swapped for a synonym and a filler word added;
- paraphrase: the same type asked with another of its sentence shapes, common words swapped for
              synonyms; the things and numbers kept (a rewording keeps what is asked about).
Two-thing types count {x, y} as one request whichever comes first. A distinct neighbour therefore often shares the sentence shape and differs in one thing or number.
No downloads, no model: word lists written for this benchmark.
"""

from __future__ import annotations

import random

from dedup_corpus import Prompt, with_planted_copies

FIELDS = {
    "astronomy": ["red dwarfs", "the Andromeda galaxy", "Saturn's rings", "pulsars", "the Oort cloud", "exoplanet transits", "solar flares", "dark matter halos"],
    "chemistry": ["benzene rings", "titration curves", "catalytic converters", "polymer chains", "electrolysis", "buffer solutions", "chiral molecules", "noble gases"],
    "cardiology": ["atrial fibrillation", "beta blockers", "stents", "cholesterol plaques", "heart murmurs", "pacemakers", "echocardiograms", "hypertension"],
    "databases": ["PostgreSQL indexes", "MongoDB sharding", "SQLite journaling", "Redis eviction", "foreign keys", "query planners", "write-ahead logs", "materialized views"],
    "networking": ["BGP routing", "TCP congestion control", "IPv6 addressing", "DNS resolvers", "VLAN tagging", "TLS handshakes", "NAT traversal", "QUIC streams"],
    "baking": ["croissant dough", "rye bread", "macarons", "choux pastry", "brioche", "focaccia", "shortbread", "angel food cake"],
    "viticulture": ["Pinot Noir vines", "powdery mildew", "malolactic fermentation", "oak barrels", "Riesling grapes", "cork taint", "canopy management", "rootstock selection"],
    "aviation": ["crosswind landings", "turboprop engines", "ILS approaches", "wake turbulence", "de-icing fluid", "the Boeing 737", "glider thermals", "ETOPS rules"],
    "law": ["non-compete clauses", "copyright fair use", "tenant deposits", "GDPR consent", "probate courts", "patent claims", "class actions", "trademark dilution"],
    "linguistics": ["Finnish vowel harmony", "Mandarin tones", "Latin declensions", "Basque ergativity", "pidgin languages", "Arabic root patterns", "English phrasal verbs", "sign language grammar"],
    "geology": ["basalt columns", "karst caves", "plate subduction", "glacial moraines", "obsidian", "sedimentary layers", "hot springs", "fault creep"],
    "ornithology": ["barn owls", "Arctic terns", "hummingbird migration", "crows' tool use", "penguin colonies", "woodpecker drumming", "cuckoo brood parasitism", "flamingo feeding"],
    "music theory": ["the Dorian mode", "tritone substitution", "counterpoint", "polyrhythms", "the circle of fifths", "sonata form", "blues scales", "voice leading"],
    "machine learning": ["dropout layers", "gradient boosting", "attention heads", "k-means clustering", "learning rate warmup", "batch normalization", "random forests", "contrastive loss"],
    "economics": ["minimum wage laws", "quantitative easing", "tariffs on steel", "housing bubbles", "carbon taxes", "universal basic income", "currency pegs", "rent control"],
    "cycling": ["tubeless tyres", "carbon frames", "derailleur gears", "disc brakes", "power meters", "saddle height", "chain lubrication", "climbing cadence"],
    "photography": ["long exposures", "prime lenses", "ISO noise", "bracketing", "macro shots", "film grain", "golden hour light", "RAW files"],
    "epidemiology": ["measles outbreaks", "herd immunity", "cohort studies", "R0 estimates", "contact tracing", "malaria nets", "cholera wells", "influenza strains"],
    "robotics": ["servo motors", "SLAM mapping", "lidar sensors", "gripper design", "PID controllers", "inverse kinematics", "swarm robots", "battery packs"],
    "ancient history": ["the Roman aqueducts", "Hammurabi's code", "the Phoenician alphabet", "the Silk Road", "Spartan training", "the Library of Alexandria", "Mayan calendars", "the Terracotta Army"],
    "oceanography": ["rip currents", "coral bleaching", "the Gulf Stream", "tsunami warnings", "kelp forests", "ocean acidification", "hydrothermal vents", "tidal bores"],
    "psychology": ["confirmation bias", "the placebo effect", "working memory", "impostor syndrome", "habit loops", "sleep deprivation", "cognitive dissonance", "flow states"],
    "carpentry": ["dovetail joints", "oak flooring", "wood glue", "table saws", "mortise and tenon", "plywood sheets", "wood stain", "hand planes"],
    "beekeeping": ["varroa mites", "queen rearing", "honey extraction", "swarm control", "hive insulation", "drone comb", "wax moths", "pollen patties"],
    "cryptography": ["RSA keys", "elliptic curves", "hash collisions", "one-time pads", "AES rounds", "zero-knowledge proofs", "key rotation", "lattice schemes"],
    "nutrition": ["omega-3 fats", "intermittent fasting", "dietary fibre", "creatine supplements", "iron absorption", "ketogenic diets", "probiotics", "sodium intake"],
    "architecture": ["flying buttresses", "passive houses", "brutalist facades", "green roofs", "timber skyscrapers", "Gothic vaults", "earthquake dampers", "atrium lighting"],
    "chess": ["the Sicilian Defence", "rook endgames", "the King's Gambit", "zugzwang", "pawn storms", "the London System", "knight outposts", "opposite-coloured bishops"],
}
NUMBERS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 250]
YEARS = [1850, 1900, 1920, 1950, 1970, 1990, 2000, 2010]
AUDIENCES = ["a ten-year-old", "a hospital manager", "a first-year student", "an investor", "a journalist", "my grandmother"]
TYPES = {  # request type -> sentence shapes; {x} {y} things of one field, {n} a number, {yr} a year, {au} an audience
    "define": ["What is meant by {x}?", "Define {x} in simple terms.", "Could you tell me what {x} actually are?", "I never understood {x}; what is the idea?"],
    "compare": ["How do {x} and {y} differ?", "What is the difference between {x} and {y}?", "Compare {x} with {y}.", "In what ways are {x} unlike {y}?"],
    "list": ["List {n} facts about {x}.", "Give me {n} things worth knowing about {x}.", "Name {n} key points on {x}.", "What are {n} important facts regarding {x}?"],
    "history": ["How have {x} changed since {yr}?", "What has happened with {x} since {yr}?", "Trace the evolution of {x} from {yr} until now.", "Since {yr}, how did {x} develop?"],
    "audience": ["Explain {x} to {au}.", "How would you describe {x} to {au}?", "Teach {au} about {x}.", "Make {x} clear for {au}."],
    "problem": ["My work with {x} keeps failing. What should I check first?", "Things go wrong whenever I deal with {x}; where do I start looking?", "I am stuck with {x}. What are the first things to inspect?", "Every attempt at {x} fails for me. Which checks come first?"],
    "plan": ["Draft a {n}-week study plan on {x}.", "Make me a {n}-week learning schedule for {x}.", "Plan {n} weeks of study about {x}.", "Design a {n}-week course covering {x}."],
    "myth": ["What do people get wrong about {x}?", "Which misconceptions about {x} are common?", "What are the usual myths surrounding {x}?", "Where do most people misunderstand {x}?"],
    "link": ["How are {x} connected to {y}?", "What is the relationship between {x} and {y}?", "Do {x} influence {y}, and how?", "Explain the link between {x} and {y}."],
    "future": ["What will {x} look like in {n} years?", "Predict how {x} will change over the next {n} years.", "In {n} years, where will {x} be?", "How might {x} evolve during the coming {n} years?"],
}
SYNONYMS = {"simple": "plain", "important": "essential", "key": "main", "facts": "points", "change": "shift", "common": "frequent",
            "differ": "vary", "explain": "describe", "clear": "understandable", "usual": "typical", "draft": "write",
            "things": "items", "first": "initial", "wrong": "mistaken", "describe": "explain", "predict": "forecast",
            "design": "create", "schedule": "timetable", "important facts": "key facts", "checks": "tests", "tell": "explain to"}
FILLERS = ["please", "briefly", "honestly", "exactly"]


def make_mixed_corpus(total: int = 20_000, duplicate_share: float = 0.3, seed: int = 7) -> list[Prompt]:
    rng = random.Random(seed)
    n_base = int(total * (1 - duplicate_share))
    requests = distinct_requests(rng, n_base)
    bases = [Prompt(render(r, r[-1]), group, "base") for group, r in enumerate(requests)]

    def paraphrase(group: int) -> str:
        shapes = len(TYPES[requests[group][0]])
        shape = (requests[group][-1] + rng.randrange(1, shapes)) % shapes
        return reword(render(requests[group], shape), rng, swaps=3, filler=False)

    return with_planted_copies(bases, total, rng, near=lambda text, rng: reword(text, rng, swaps=2, filler=True),
                               paraphrase=paraphrase)


def distinct_requests(rng: random.Random, count: int) -> list[tuple]:
    seen: list[tuple] = []  # a list, not a set: set order follows the per-process string hash seed
    content: set[tuple] = set()
    while len(seen) < count:
        kind = rng.choice(sorted(TYPES))
        field = rng.choice(sorted(FIELDS))
        x, y = rng.sample(FIELDS[field], 2)
        shape = rng.randrange(len(TYPES[kind]))
        n, year, audience = rng.choice(NUMBERS), rng.choice(YEARS), rng.choice(AUDIENCES)
        shapes = " ".join(TYPES[kind])
        # Only the slots the type uses make it distinct ("define x" has no y, no number).
        pair = tuple(sorted((x, y))) if "{y}" in shapes else (x,)  # "x and y" asks what "y and x" asks
        key = (kind, pair, n if "{n}" in shapes else 0,
               year if "{yr}" in shapes else 0, audience if "{au}" in shapes else "")
        if key not in content:
            content.add(key)
            seen.append((kind, x, y, n, year, audience, shape))
    return seen


def render(request: tuple, shape: int) -> str:
    kind, x, y, n, year, audience, _ = request
    return TYPES[kind][shape].format(x=x, y=y, n=n, yr=year, au=audience)


def reword(text: str, rng: random.Random, swaps: int, filler: bool) -> str:
    words = text.split()
    swappable = [i for i, w in enumerate(words) if w.lower().strip(",.?;") in SYNONYMS]
    for i in rng.sample(swappable, min(len(swappable), swaps)):
        core = words[i].lower().strip(",.?;")
        new = SYNONYMS[core]
        words[i] = words[i].replace(core, new).replace(core.capitalize(), new.capitalize())
    if filler:
        words.insert(rng.randrange(1, len(words)), rng.choice(FILLERS))
    return " ".join(words)
