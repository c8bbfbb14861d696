"""The steps a run found with nothing to do, remembered at the store's generation, so the next run of an
unchanged project does not look for pending inputs again (at 20,000 prompts that look is 0.3 CPU-s over
the pipeline's steps: a join of every upstream emit with the step's progress).

The store counts its changes (store/db.py: `store_state.generation` moves on with every write to the
records, emits, progress or reviews, from any connection). A step is settled at generation G when a pass
that started and ended at G found none of its inputs pending, and no input of it ended in error in that
run (an error is retried by the next run, so it is pending then). While the store is still at G and the
step's settings and upstream are the same, it has nothing pending: the executor skips the look. Any write
(the next batch of results, a reviewer's decision, an import) leaves G behind and every step looks again.

Kept in `.sftgen/settled.json` beside the status snapshot (status_data.py), written beside it and moved
into place; a file that does not parse, or of another sftgen, settles nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sftgen import __version__

SETTLED_FILE = "settled.json"
SETTLED_FORMAT = 1


def step_key(settings: str, upstream: Sequence[str]) -> str:
    """What a step's pending inputs depend on besides the store's rows."""
    return json.dumps([settings, list(upstream)])


@dataclass
class SettledSteps:
    state_dir: Path
    generation: int | None = None
    """The store's generation when the steps were found settled (None: nothing is known)."""
    steps: dict[str, str] = field(default_factory=dict)
    """step name -> its `step_key` then."""

    @classmethod
    def read(cls, state_dir: Path) -> SettledSteps:
        try:
            data = json.loads((state_dir / SETTLED_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(state_dir)
        if not isinstance(data, dict) or data.get("format") != SETTLED_FORMAT or data.get("version") != __version__ \
                or not isinstance(data.get("generation"), int) or not isinstance(data.get("steps"), dict):
            return cls(state_dir)
        return cls(state_dir, data["generation"], {str(k): str(v) for k, v in data["steps"].items()})

    def holds(self, step: str, settings: str, upstream: Sequence[str], generation: int) -> bool:
        """Nothing is pending for this step: the store is where it was when the step was settled."""
        return self.generation == generation and self.steps.get(step) == step_key(settings, upstream)

    def remember(self, generation: int, steps: dict[str, str]) -> None:
        """Settled at `generation`: these steps (name -> `step_key`). A file that cannot be written (a full
        disk, a read-only folder) is only not kept."""
        if self.generation == generation and self.steps == steps:
            return
        self.generation, self.steps = generation, steps
        target = self.state_dir / SETTLED_FILE
        partial = target.with_name(f"{SETTLED_FILE}.{os.getpid()}.partial")
        data = {"format": SETTLED_FORMAT, "version": __version__, "generation": generation, "steps": steps}
        try:
            partial.write_text(json.dumps(data), encoding="utf-8")
            os.replace(partial, target)
        except OSError:
            partial.unlink(missing_ok=True)
