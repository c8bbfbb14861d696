"""What the preview of one step measured: per input (requests, tokens, outputs, seconds) and the CPU the
step spent, split into a once-per-run part (loading a model, building an index) and a per-input part."""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.quotas.targets import QUOTA_FULL


@dataclass
class Round:
    """One pass of the preview over some of the step's inputs."""

    rows: list
    cpu_s: float
    wall_s: float


@dataclass
class Measurement:
    step: str
    uses_llm: bool
    concurrency: int
    rounds: list[Round]

    @property
    def rows(self) -> list:
        return [row for round_ in self.rounds for row in round_.rows]

    @property
    def sampled(self) -> int:
        return len(self.rows)

    def served_rows(self) -> list:
        """The inputs the step worked on: not the profiles or seeds it declined because a quota was full."""
        return [row for row in self.rows if row["reason"] != QUOTA_FULL]

    def served_share(self) -> float:
        return len(self.served_rows()) / self.sampled if self.sampled else 0.0

    def per_input(self, column: str, rows: list | None = None) -> float:
        rows = self.rows if rows is None else rows
        return sum(row[column] for row in rows) / len(rows) if rows else 0.0

    @property
    def requests(self) -> int:
        return sum(row["llm_requests"] for row in self.rows)

    def latency_s(self) -> float | None:
        """Seconds per request: the time of the inputs that asked, over their requests (None: none asked)."""
        asked = [row for row in self.rows if row["llm_requests"] > 0]
        requests = sum(row["llm_requests"] for row in asked)
        return sum(row["seconds"] for row in asked) / requests if requests else None

    def cpu_per_input(self) -> float:
        """CPU seconds per input in steady state: from the later round when it had inputs (the first one also
        pays what a step does once per run), else from the first."""
        later = [r for r in self.rounds[1:] if r.rows]
        source = later or [r for r in self.rounds if r.rows]
        count = sum(len(r.rows) for r in source)
        return sum(r.cpu_s for r in source) / count if count else 0.0

    def fixed_cpu_s(self) -> float:
        """What the first round spent beyond its inputs' steady-state share: paid once per run."""
        if not self.rounds or not self.rounds[0].rows:
            return 0.0
        first = self.rounds[0]
        return max(0.0, first.cpu_s - len(first.rows) * self.cpu_per_input())

    def seconds_per_input(self) -> float:
        """Wall seconds one input takes (requests, I/O and CPU), from the later round when it had inputs."""
        later = [row for r in self.rounds[1:] for row in r.rows]
        return self.per_input("seconds", later or self.rows)
