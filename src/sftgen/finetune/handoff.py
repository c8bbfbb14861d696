"""The hand-off folder `sftgen finetune` writes: the exports a method trains on, split into train and eval by
prompt (data/<export>.train.jsonl, data/<export>.eval.jsonl), a config recording where they came from, the
split and the seed (config.yaml), and the TRL script that reads it (train.py, copied as it is from
templates/). Every file is written under a temporary name and renamed onto its own, like the exports."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sftgen.export.rows import export_rows, export_schema
from sftgen.export.writers import write_rows
from sftgen.finetune.split import SPLIT_BY, split_rows
from sftgen.project import Project

METHODS = ("sft", "dpo", "sft+dpo")
EXPORT_OF_STAGE = {"sft": "sft", "dpo": "preferences"}
DEFAULT_BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
"""The instruct model of the family the embedded model comes from; it ships a chat template."""
SCRIPT = Path(__file__).parent / "templates" / "train.py"
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
NOTHING_TO_TRAIN_ON = {
    "sft": "no kept answers to train on: `sftgen run` makes them",
    "preferences": "no preference pairs to train on: reviewers' edits and rejections of answers make them "
                   "(`sftgen review`, then `sftgen run`); or --method sft",
}


class FinetuneError(ValueError):
    """A hand-off that cannot be written; the message names the option or what is missing."""


@dataclass
class FinetuneOptions:
    out: Path
    base_model: str = DEFAULT_BASE_MODEL
    method: str = "sft"
    lora: bool = True
    eval_share: float = 0.1
    seed: int = 0


@dataclass
class Handoff:
    folder: Path
    script: Path
    config: Path
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    """export -> {"train": rows, "eval": rows}"""


def stages_of(method: str) -> list[str]:
    if method not in METHODS:
        raise FinetuneError(f"--method {method}: expected one of {', '.join(METHODS)}")
    return method.split("+")


def base_model_name(name: str) -> str:
    """A local model folder as an absolute path (the script may run from anywhere); a Hub name as it is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name


def write_handoff(project: Project, options: FinetuneOptions) -> Handoff:
    from sftgen.pipeline import standard_pipeline

    stages = stages_of(options.method)
    if not 0 <= options.eval_share < 1:
        raise FinetuneError(f"--eval-share {options.eval_share}: expected a share from 0 up to (not including) 1")
    folder = Path(options.out)
    pipeline = standard_pipeline(project.recipe)
    store = project.store()
    try:
        exported = {EXPORT_OF_STAGE[stage]: list(export_rows(store, pipeline, EXPORT_OF_STAGE[stage], project.recipe))
                    for stage in stages}
    finally:
        store.close()
    for what, rows in exported.items():
        if not rows:
            raise FinetuneError(f"{project.dir}: {NOTHING_TO_TRAIN_ON[what]}")
    handoff = Handoff(folder, folder / "train.py", folder / "config.yaml")
    data: dict[str, Any] = {}
    for what, rows in exported.items():
        data[what] = write_split(project, folder, what, rows, options)
        handoff.rows[what] = data[what]["rows"]
    config = training_config(project, options, stages, data)
    write_text(handoff.config, CONFIG_HEADER + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100))
    write_text(handoff.script, SCRIPT.read_text(encoding="utf-8"))
    return handoff


def write_split(project: Project, folder: Path, what: str, rows: list[dict[str, Any]],
                options: FinetuneOptions) -> dict[str, Any]:
    train, held_out = split_rows(rows, options.seed, options.eval_share)
    schema = export_schema(what, project.recipe)
    files: dict[str, Any] = {}
    for side, side_rows in (("train", train), ("eval", held_out)):
        path = folder / "data" / f"{what}.{side}.jsonl"
        if side_rows:
            write_rows(side_rows, "jsonl", path, schema)
            files[side] = path.relative_to(folder).as_posix()
        else:
            path.unlink(missing_ok=True)  # an earlier hand-off's eval file would not match this split
            files[side] = None
    files["rows"] = {"train": len(train), "eval": len(held_out)}
    if what == "preferences":
        files["sources"] = dict(sorted(Counter(row["source"] for row in rows).items()))
    return files


def stage_arguments(stage: str, lora: bool, has_eval: bool) -> dict[str, Any]:
    """Arguments of TRL's SFTConfig / DPOConfig, passed as they are: a start that suits a small model."""
    sft = stage == "sft"
    arguments: dict[str, Any] = {
        "num_train_epochs": 3 if sft else 1,
        "learning_rate": (2e-4 if lora else 2e-5) if sft else (5e-6 if lora else 5e-7),
        "per_device_train_batch_size": 4 if sft else 2,
        "gradient_accumulation_steps": 4 if sft else 8,
        "max_length": 2048,
        "logging_steps": 10,
        "save_strategy": "epoch",
        "eval_strategy": "epoch" if has_eval else "no",
        "report_to": "none",
    }
    if not sft:
        arguments["beta"] = 0.1
    return arguments


def training_config(project: Project, options: FinetuneOptions, stages: list[str], data: dict[str, Any]) -> dict[str, Any]:
    from sftgen import __version__

    config: dict[str, Any] = {
        "base_model": base_model_name(options.base_model),
        "chat_template": None,
        "method": options.method,
        "seed": options.seed,
        "output_dir": "output",
        "data": {
            "project": str(project.dir.resolve()),
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sftgen_version": __version__,
            "split": {"by": SPLIT_BY, "eval_share": options.eval_share, "seed": options.seed},
            **data,
        },
        "lora": dict(LORA) if options.lora else None,
    }
    for stage in stages:
        config[stage] = stage_arguments(stage, options.lora, bool(data[EXPORT_OF_STAGE[stage]]["eval"]))
    return config


CONFIG_HEADER = """\
# Written by `sftgen finetune`; train.py reads it (paths are relative to this file). Edit freely.
# base_model: a Hub name or a local folder; its tokenizer's chat template formats the messages
#   (chat_template: a Jinja template to use instead).
# data: the project's exports, split by prompt: a prompt is on the eval side when a hash of the seed and
#   its id falls under eval_share (the same seed keeps it there); all rows train when every one would be eval.
# lora: peft's LoraConfig arguments (null: the whole model trains).
# sft / dpo: TRL's SFTConfig / DPOConfig arguments, passed as they are.
"""


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        if path.suffix == ".py":
            shutil.copymode(SCRIPT, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
