"""What the preview of one step measured: per input (requests, tokens, outputs, seconds) and the CPU the
step spent, split into a once-per-run part (loading a model, building an index) and a per-input part."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from statistics import median

from sftgen.quotas.targets import QUOTA_FULL
from sftgen.records import Status

DECLINED = (QUOTA_FULL, "research_budget_spent")
"""Drop reasons of inputs a step declined before asking: a quota full, the research budget spent."""


@dataclass
class Round:
    """One pass of the preview over some of the step's inputs."""

    rows: list
    cpu_s: float
    wall_s: float

    @property
    def completed(self) -> list:
        return [row for row in self.rows if row["outcome"] != Status.ERROR]


@dataclass
class Measurement:
    step: str
    uses_llm: bool
    concurrency: int
    workers: int
    """Inputs the executor has in process at once for this step."""
    rounds: list[Round]

    @property
    def rows(self) -> list:
        """The inputs the preview completed (kept or dropped). One that failed is left out of every rate (in
        a preview, mostly an input whose upstream work the preview did not reach); `errors` counts them."""
        return [row for round_ in self.rounds for row in round_.completed]

    def errors(self) -> Counter:
        return Counter(row["reason"] or "unknown" for r in self.rounds for row in r.rows
                       if row["outcome"] == Status.ERROR)

    @property
    def sampled(self) -> int:
        return len(self.rows)

    def served_rows(self) -> list:
        """The inputs the step worked on: not those it declined because a quota was full or the research
        budget spent (in the preview too), which cost nothing."""
        return [row for row in self.rows if row["reason"] not in DECLINED]

    def served_share(self) -> float:
        return len(self.served_rows()) / self.sampled if self.sampled else 0.0

    def per_input(self, column: str, rows: list | None = None) -> float:
        rows = self.rows if rows is None else rows
        return sum(row[column] for row in rows) / len(rows) if rows else 0.0

    @property
    def requests(self) -> int:
        return sum(row["llm_requests"] for row in self.rows)

    def latency_s(self) -> float | None:
        """Seconds per request: the time of the inputs that asked, over their requests (None: none asked);
        from the later rounds when they asked (the first one's inputs also wait for what the step loads)."""
        later = [row for r in self.rounds[1:] for row in r.completed if row["llm_requests"] > 0]
        asked = later or [row for row in self.rows if row["llm_requests"] > 0]
        # The median input, not the mean: on a shared machine one input stalled by another process would
        # stand for thousands.
        return median(row["seconds"] / row["llm_requests"] for row in asked) if asked else None

    def cpu_per_input(self) -> float:
        """CPU seconds per input: the slope between the two later rounds (of different sizes) when they had
        inputs, so neither what the step does once per run nor what each call costs is in it; else the
        later rounds' mean, else the first's."""
        later = [r for r in self.rounds[1:] if r.rows]
        source = later or [r for r in self.rounds if r.rows]
        count = sum(len(r.rows) for r in source)  # all the inputs the CPU was spent on, failed ones too
        mean = sum(r.cpu_s for r in source) / count if count else 0.0
        if len(later) == 2 and len(later[1].rows) > len(later[0].rows):
            # A few milliseconds measured on a few inputs are noisy: the slope is trusted only below the
            # rounds' own means; a larger round that cost no more says the cost per input is below the noise.
            means = min(r.cpu_s / len(r.rows) for r in later)
            if later[1].cpu_s <= later[0].cpu_s:
                return means
            return min(means, (later[1].cpu_s - later[0].cpu_s) / (len(later[1].rows) - len(later[0].rows)))
        return mean

    def fixed_cpu_s(self) -> float:
        """What the first round spent beyond its inputs' share: what the step does once per run and per call
        (the run calls each step once a pass)."""
        if not self.rounds or not self.rounds[0].rows:
            return 0.0
        first = self.rounds[0]
        return max(0.0, first.cpu_s - len(first.rows) * self.cpu_per_input())

    def seconds_per_input(self) -> float:
        """Wall seconds the median input takes (requests, I/O and CPU), from the later rounds when they had
        inputs."""
        later = [row for r in self.rounds[1:] for row in r.completed] or self.rows
        return median(row["seconds"] for row in later) if later else 0.0
