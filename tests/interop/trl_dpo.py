"""Run with the Python of the `finetune` test venv (tests/support/tool_venvs.py), never sftgen's:

    python trl_dpo.py EXPORT WORK_DIR

A few steps of TRL's `DPOTrainer` on `sftgen export --what preferences` (EXPORT: a .jsonl file or an hf
folder) loaded with `datasets` exactly as exported (`prompt`, `chosen`, `rejected` and every column beside
them), on a 2-layer random Llama with a tokenizer trained here on the export's texts, on the CPU, nothing
downloaded. Prints one JSON object: the rows, columns, steps, losses and the seconds training took.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import datasets
import torch
import transformers
import trl
from trl import DPOConfig, DPOTrainer

from tiny_llama import message_texts, tiny_model, trained_tokenizer

datasets.disable_progress_bars()


def load(export: Path) -> datasets.Dataset:
    if export.is_dir():
        return datasets.load_from_disk(str(export))
    return datasets.load_dataset("json", data_files=str(export), split="train")


def main(export: str, work: str) -> None:
    torch.manual_seed(0)
    dataset = load(Path(export))
    tokenizer = trained_tokenizer(text for row in dataset for text in message_texts(row))
    model = tiny_model(tokenizer)
    args = DPOConfig(output_dir=work, max_steps=3, per_device_train_batch_size=2, learning_rate=5e-3, beta=0.1,
                     logging_steps=1, save_strategy="no", report_to=[], max_length=128, use_cpu=True, bf16=False,
                     fp16=False, disable_tqdm=True, seed=0)
    # The reference: a frozen copy of the starting model (with ref_model=None TRL would load it from a model id).
    trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=args, train_dataset=dataset, processing_class=tokenizer)
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    print(json.dumps({
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
        "rows": dataset.num_rows, "columns": dataset.column_names, "steps": result.global_step,
        "losses": [entry["loss"] for entry in logged], "logged_keys": sorted(logged[0]) if logged else [],
        "train_seconds": seconds,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
