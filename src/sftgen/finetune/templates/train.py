"""Fine-tune a base model on an sftgen project's exports with TRL: SFT on the prompt-answer pairs, DPO on the
reviewers' preference pairs, or SFT then DPO. Written by `sftgen finetune`; plain TRL, edit it as you like.

    python train.py                   # reads config.yaml beside this file
    python train.py --config other.yaml --max-steps 5   # a quick check: a few steps per stage

Needs torch, transformers, trl, datasets (and peft for LoRA). Everything it reads is in config.yaml: the base
model (a Hub name or a local folder), the data files and their split, LoRA, and the arguments of each stage,
passed as they are to TRL's SFTConfig / DPOConfig. Each stage saves its model (with LoRA: its adapter) and
tokenizer to output_dir/<stage>, with the logged losses in training_log.json. With LoRA and sft+dpo, the SFT
adapter is merged into the base model (output_dir/sft-merged) and DPO trains a new adapter on that merged
model; DPO's reference model is always the model it starts from (the SFT model after SFT)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import datasets
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer


def load_config(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_split(files: dict, folder: Path, name: str) -> datasets.Dataset | None:
    """One side of the split (`train` or `eval`) as a Dataset; None when the export put no row there."""
    if not files.get(name):
        return None
    return datasets.load_dataset("json", data_files=str(folder / files[name]), split="train")


def load_tokenizer(config: dict):
    tokenizer = AutoTokenizer.from_pretrained(config["base_model"])
    if config.get("chat_template"):
        tokenizer.chat_template = config["chat_template"]
    if not tokenizer.chat_template:
        raise SystemExit(f"{config['base_model']}: its tokenizer has no chat template; set chat_template in the "
                         "config (a Jinja template), or pick an instruct/chat model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def lora_config(config: dict):
    if not config.get("lora"):
        return None
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **config["lora"])


def stage_arguments(config: dict, stage: str, output_dir: Path, max_steps: int | None) -> dict:
    arguments = dict(config[stage])
    arguments.setdefault("bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    arguments.update(output_dir=str(output_dir / stage), seed=config["seed"])
    if max_steps is not None:
        arguments.update(max_steps=max_steps, save_strategy="no", eval_strategy="no")
    return arguments


def save(trainer, tokenizer, folder: Path) -> None:
    trainer.save_model(str(folder))
    tokenizer.save_pretrained(str(folder))
    history = trainer.state.log_history
    losses = [entry for entry in history if "loss" in entry]
    seconds = next((entry["train_runtime"] for entry in history if "train_runtime" in entry), None)
    (folder / "training_log.json").write_text(json.dumps(
        {"steps": trainer.state.global_step, "train_seconds": seconds, "log": losses}, indent=2))
    print(f"saved {folder} after {trainer.state.global_step} steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path(__file__).with_name("config.yaml"))
    parser.add_argument("--max-steps", type=int, default=None, help="Stop each stage after this many steps.")
    options = parser.parse_args()
    config = load_config(options.config)
    folder = options.config.resolve().parent
    output_dir = folder / config["output_dir"]
    stages = config["method"].split("+")
    torch.manual_seed(config["seed"])

    tokenizer = load_tokenizer(config)
    model = AutoModelForCausalLM.from_pretrained(config["base_model"], dtype="auto")

    if "sft" in stages:
        data = config["data"]["sft"]
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(**stage_arguments(config, "sft", output_dir, options.max_steps)),
            train_dataset=load_split(data, folder, "train"),
            eval_dataset=load_split(data, folder, "eval"),
            processing_class=tokenizer,
            peft_config=lora_config(config),
        )
        trainer.train()
        save(trainer, tokenizer, output_dir / "sft")
        if "dpo" in stages:
            # DPO starts from the SFT model and compares with it (its reference model): loaded from disk, so
            # that DPOTrainer builds the reference from it and a DPO adapter names it as its base.
            sft_model = output_dir / "sft"
            if config.get("lora"):  # the SFT adapter merged into the base model
                sft_model = output_dir / "sft-merged"
                trainer.model.merge_and_unload().save_pretrained(str(sft_model))
                tokenizer.save_pretrained(str(sft_model))
            model = AutoModelForCausalLM.from_pretrained(str(sft_model), dtype="auto")

    if "dpo" in stages:
        data = config["data"]["preferences"]
        trainer = DPOTrainer(
            model=model,
            ref_model=None,  # with LoRA: the model without its adapter; without: loaded again from its folder
            args=DPOConfig(**stage_arguments(config, "dpo", output_dir, options.max_steps)),
            train_dataset=load_split(data, folder, "train"),
            eval_dataset=load_split(data, folder, "eval"),
            processing_class=tokenizer,
            peft_config=lora_config(config),
        )
        trainer.train()
        save(trainer, tokenizer, output_dir / "dpo")


if __name__ == "__main__":
    main()
