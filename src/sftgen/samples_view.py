"""The end of `sftgen run`: a few of the prompts the run keeps and one answer, then the commands to try
next. Read with LIMIT queries, so an unchanged second run prints as fast as the first."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from sftgen.project import Project
from sftgen.records import Record
from sftgen.store import Store

PROMPTS_SHOWN = 3
PROMPT_CHARS = 300
ANSWER_CHARS = 700


def print_samples(console: Console, project: Project, directory: Path) -> None:
    from sftgen.answers.choice import is_chosen
    from sftgen.export.kept import furthest_run_step
    from sftgen.pipeline import standard_pipeline

    pipeline = standard_pipeline(project.recipe)
    store = project.store()
    try:
        prompt_step = furthest_run_step(store, pipeline, "prompt")
        answer_step = furthest_run_step(store, pipeline, "answer")
        prompts = kept_sample(store, prompt_step.name, "prompt", PROMPTS_SHOWN) if prompt_step else []
        # a prompt's chosen answer, not one of the candidates the judge passed over
        answers = [a for a in kept_sample(store, answer_step.name, "answer", 10) if is_chosen(a)][:1] \
            if answer_step else []
        asked = store.get(answers[0].meta.get("prompt_id", "")) if answers else None
    finally:
        store.close()
    console.print()
    if prompts:
        console.print("[bold]some of the prompts kept[/bold]:", highlight=False)
        for prompt in prompts:
            console.print(f"  - {escape(shortened(prompt.text, PROMPT_CHARS))}", highlight=False)
    else:
        console.print("[bold]no prompt kept yet[/bold] (the funnel above shows where the items went)", highlight=False)
    if answers:
        question = f" to: {escape(shortened(asked.text, PROMPT_CHARS))}" if asked else ""
        console.print(f"[bold]an answer[/bold]{question}", highlight=False)
        for line in shortened(answers[0].text, ANSWER_CHARS).splitlines():
            console.print(f"    {escape(line)}", highlight=False)
    print_next_commands(console, directory)


NEXT_COMMANDS = (
    ("status", "the funnel again"),
    ("review", "accept, edit or reject in a browser"),
    ("export", "write the kept records: --out data.jsonl"),
)


def print_next_commands(console: Console, directory: Path) -> None:
    console.print()
    console.print("[bold]next[/bold]:", highlight=False)
    for command, what in NEXT_COMMANDS:
        console.print(f"  sftgen {command} {escape(str(directory))}   [dim]{what}[/dim]", highlight=False)


def kept_sample(store: Store, step: str, kind: str, count: int) -> list[Record]:
    """The first `count` kept records of this kind that the step passes on."""
    return store.emits.first_kept(step, kind, count)


def shortened(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()} (+{len(text) - limit:,} characters)"
