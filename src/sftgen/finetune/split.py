"""The train / eval split of the hand-off: by prompt, so a prompt's SFT row and its preference pairs fall on
the same side, and by a seeded hash of the prompt's id, so with the same seed a prompt stays on its side
whatever else the export holds (rows added later do not move the others)."""

from __future__ import annotations

from typing import Any

from sftgen.records import stable_hash

SPLIT_BY = "prompt_id"


def in_eval(prompt_id: str, seed: int, eval_share: float) -> bool:
    return int(stable_hash("split", seed, prompt_id, length=8), 16) / 2**64 < eval_share


def split_rows(rows: list[dict[str, Any]], seed: int, eval_share: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, eval). When the hash would put every row on the eval side (a tiny export), all go to train."""
    train = [row for row in rows if not in_eval(row[SPLIT_BY], seed, eval_share)]
    if not train:
        return list(rows), []
    return train, [row for row in rows if in_eval(row[SPLIT_BY], seed, eval_share)]
