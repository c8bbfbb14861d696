"""`sftgen finetune DIR --out DIR2`: write the hand-off, say what is in it, and with `--run` start it."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from sftgen.cli_messages import error, plain
from sftgen.export.errors import ExportError
from sftgen.failures import RunStopped
from sftgen.finetune.handoff import FinetuneError, FinetuneOptions, write_handoff
from sftgen.finetune.launch import launch, why_it_cannot_run
from sftgen.project import Project

BAD_INPUT, CANNOT_RUN = 2, 1


def finetune_command(console: Console, project: Project, options: FinetuneOptions, run: bool = False,
                     python: Path | None = None) -> int:
    try:
        handoff = write_handoff(project, options)
    except (FinetuneError, ExportError) as exc:
        error(console, exc)
        return BAD_INPUT
    except RunStopped as exc:
        error(console, exc.message)
        return exc.exit_code
    counts = "; ".join(f"{what} {rows['train']} train / {rows['eval']} eval rows" for what, rows in handoff.rows.items())
    plain(console, f"wrote {handoff.script}, {handoff.config} and {handoff.folder / 'data'} ({counts})")
    if not run:
        plain(console, f"train with: python {handoff.script}   (needs torch, transformers, trl, datasets"
                       f"{', peft' if options.lora else ''})")
        return 0
    python = python or Path(sys.executable)
    reason = why_it_cannot_run(python, options.lora)
    if reason:
        error(console, f"--run: not started: {reason}; the script is ready: python {handoff.script} where it can run")
        return CANNOT_RUN
    return launch(python, handoff.script, handoff.config)
