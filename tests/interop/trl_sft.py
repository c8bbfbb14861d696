"""Run with the Python of the `hf` test venv (tests/support/tool_venvs.py), never sftgen's:

    python trl_sft.py EXPORT WORK_DIR

A few steps of TRL's `SFTTrainer` on `sftgen export --what sft` (EXPORT: a .jsonl or .parquet file, or an
hf folder), exactly as exported: the `messages` column and every other column beside it. Nothing is
downloaded: a word-level tokenizer is trained here on the export's own text (the `tokenizers` library),
with a small chat template, and the model is a 2-layer Llama built from a config with random weights, on
the CPU. Prints one JSON object: the rows, the steps run and the losses logged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import datasets
import torch
import transformers
import trl
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import SFTConfig, SFTTrainer

datasets.disable_progress_bars()
SPECIAL = ["<pad>", "<unk>", "<s>", "</s>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def load(export: Path) -> datasets.Dataset:
    if export.is_dir():
        return datasets.load_from_disk(str(export))
    kind = "parquet" if export.suffix == ".parquet" else "json"
    return datasets.load_dataset(kind, data_files=str(export), split="train")


def trained_tokenizer(dataset: datasets.Dataset) -> PreTrainedTokenizerFast:
    texts = [m["content"] for row in dataset for m in row["messages"]] + ["system user assistant"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=SPECIAL, min_frequency=1))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<s>", eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def main(export: str, work: str) -> None:
    torch.manual_seed(0)
    dataset = load(Path(export))
    tokenizer = trained_tokenizer(dataset)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    args = SFTConfig(output_dir=work, max_steps=4, per_device_train_batch_size=2, learning_rate=5e-3,
                     logging_steps=1, save_strategy="no", report_to=[], max_length=128, use_cpu=True,
                     bf16=False, fp16=False, disable_tqdm=True, seed=0)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    print(json.dumps({
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
        "rows": dataset.num_rows, "columns": dataset.column_names, "steps": result.global_step, "losses": losses,
        "parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
