"""Run with the Python of the `finetune` test venv:

    python tiny_base_model.py OUT_DIR EXPORT.jsonl [EXPORT.jsonl ...]

Saves a base model for `sftgen finetune --base-model OUT_DIR`: a 2-layer random Llama and a tokenizer trained
on the exports' texts, with a chat template (as an instruct model's tokenizer has one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from tiny_llama import message_texts, tiny_model, trained_tokenizer


def main(out: str, *exports: str) -> None:
    torch.manual_seed(0)
    rows = [json.loads(line) for export in exports for line in Path(export).read_text(encoding="utf-8").splitlines()]
    tokenizer = trained_tokenizer(text for row in rows for text in message_texts(row))
    tiny_model(tokenizer).save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(json.dumps({"vocab": len(tokenizer), "rows": len(rows)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
