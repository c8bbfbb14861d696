"""Rich progress bars for `sftgen run`: one per step, with done / total, rate, elapsed, ETA, the LLM
requests in flight and the errors so far."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sftgen.records import Status


REFRESH_PER_SECOND = 2
"""The display's redraws (rich's default is 10): it draws from its own thread, and what it costs is CPU per
second of the run, taken from the steps. On a console that is not a terminal (a log, a pipe) nothing is
drawn while the run goes: the table is rendered once, when it stops."""
FIELDS_EVERY_S = 0.25
"""The rate (rich recomputes it from every recent sample), the requests in flight and the errors are refreshed
at most this often."""
ADVANCE_EVERY_S = 0.05
"""Items done are counted here and added to their bar at most this often (an error or the step's end adds them
at once): rich takes a lock and records a speed sample per advance, a few microseconds per item, and draws at
most `REFRESH_PER_SECOND` times a second anyway."""


class RichProgress:
    def __init__(self, console: Console):
        # styles, not markup: a markup column parses its text on every redraw of every bar
        self.progress = Progress(
            TextColumn("{task.description:<16}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>9}", style="cyan", markup=False),
            TimeElapsedColumn(),
            TextColumn("eta", markup=False),
            TimeRemainingColumn(),
            TextColumn("{task.fields[in_flight]}", style="magenta", markup=False),
            TextColumn("{task.fields[errors]}", style="red", markup=False),
            console=console,
            auto_refresh=console.is_terminal and not console.is_dumb_terminal,
            refresh_per_second=REFRESH_PER_SECOND,
        )
        self.tasks: dict[str, TaskID] = {}
        self.fields_at: dict[str, float] = {}
        self.advanced_at: dict[str, float] = {}
        self.not_shown: dict[str, int] = {}
        """Items done that their bar does not count yet."""
        self.errors: dict[str, int] = {}
        self.llm: Any = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def watch_llm(self, client: Any) -> None:
        """The run's ChatClient, whose stats say how many requests are in flight."""
        self.llm = client

    def step_started(self, step: str, total: int | None) -> None:
        self.errors.setdefault(step, 0)
        if step in self.tasks:
            self.progress.reset(self.tasks[step], total=total)
        else:
            self.tasks[step] = self.progress.add_task(step, total=total, rate="", errors="", in_flight="")

    def item_done(self, step: str, outcome: str) -> None:
        task = self.tasks[step]
        waiting = self.not_shown[step] = self.not_shown.get(step, 0) + 1
        if outcome == Status.ERROR:
            self.errors[step] += 1
        now = time.monotonic()
        if outcome != Status.ERROR and now - self.advanced_at.get(step, 0.0) < ADVANCE_EVERY_S:
            return
        self.advanced_at[step], self.not_shown[step] = now, 0
        if outcome != Status.ERROR and now - self.fields_at.get(step, 0.0) < FIELDS_EVERY_S:
            self.progress.advance(task, waiting)
            return
        self.fields_at[step] = now
        speed = self.progress._tasks[task].speed
        self.progress.update(
            task,
            advance=waiting,
            rate=f"{speed:.1f}/s" if speed else "",
            errors=f"{self.errors[step]} errors" if self.errors[step] else "",
            in_flight=self.in_flight(),
        )

    def in_flight(self) -> str:
        stats = getattr(self.llm, "stats", None)
        return f"{stats.in_flight} in flight" if stats is not None and stats.in_flight else ""

    def step_finished(self, step: str) -> None:
        if step in self.tasks:
            self.progress.update(self.tasks[step], advance=self.not_shown.pop(step, 0), in_flight="")
