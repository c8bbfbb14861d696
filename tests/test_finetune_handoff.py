"""`sftgen finetune`: the hand-off folder holds the exports a method trains on, split by prompt with the seed
recorded, a config and a plain TRL script; sftgen never imports torch or TRL for it; bad options and a
project with nothing to train on are one line each; `--run` without torch says why in one line."""

from __future__ import annotations

import json
import py_compile
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.finetune.split import in_eval, split_rows
from tests.support.answer_project import make_answer_project
from tests.support.preference_project import make_reviewed_project


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    return make_reviewed_project(tmp_path_factory.mktemp("handoff") / "p")


def finetune(*args):
    return CliRunner().invoke(app, ["finetune", *map(str, args)])


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def exported(project, what, out):
    assert CliRunner().invoke(app, ["export", str(project), "--what", what, "--out", str(out)]).exit_code == 0
    return read_jsonl(out)


def test_the_handoff_holds_both_exports_split_by_prompt_with_the_seed_recorded(reviewed, tmp_path):
    out = tmp_path / "handoff"
    result = finetune(reviewed.root, "--out", out, "--method", "sft+dpo", "--eval-share", "0.5", "--seed", "7",
                      "--base-model", "org/some-instruct-model")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["base_model"] == "org/some-instruct-model" and config["method"] == "sft+dpo" and config["seed"] == 7
    assert config["data"]["split"] == {"by": "prompt_id", "eval_share": 0.5, "seed": 7}
    assert config["data"]["project"] == str(reviewed.root.resolve())
    assert config["lora"] == {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
    assert config["dpo"]["beta"] == 0.1 and "beta" not in config["sft"]
    assert config["data"]["preferences"]["sources"] == {"expert_edit": 1, "expert_reject": 1}

    for what in ("sft", "preferences"):
        files = config["data"][what]
        train = read_jsonl(out / files["train"]) if files["train"] else []
        held_out = read_jsonl(out / files["eval"]) if files["eval"] else []
        assert files["rows"] == {"train": len(train), "eval": len(held_out)}
        whole = exported(reviewed.root, what, tmp_path / f"{what}.jsonl")
        assert sorted(json.dumps(row, sort_keys=True) for row in train + held_out) == sorted(
            json.dumps(row, sort_keys=True) for row in whole)
        assert all(not in_eval(row["prompt_id"], 7, 0.5) for row in train) or not held_out
        assert all(in_eval(row["prompt_id"], 7, 0.5) for row in held_out)
        assert config[EXPORT_STAGE[what]]["eval_strategy"] == ("epoch" if held_out else "no")

    script = (out / "train.py").read_text(encoding="utf-8")
    py_compile.compile(str(out / "train.py"), doraise=True)
    assert "from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer" in script
    assert f"python {out / 'train.py'}" in " ".join(result.output.split())


EXPORT_STAGE = {"sft": "sft", "preferences": "dpo"}


def test_a_prompt_stays_on_its_side_when_rows_are_added():
    rows = [{"prompt_id": f"pro_{n}"} for n in range(400)]
    train, held_out = split_rows(rows, seed=3, eval_share=0.2)
    more_train, more_held_out = split_rows(rows + [{"prompt_id": f"new_{n}"} for n in range(100)], 3, 0.2)
    assert {r["prompt_id"] for r in held_out} <= {r["prompt_id"] for r in more_held_out}
    assert {r["prompt_id"] for r in train} <= {r["prompt_id"] for r in more_train}
    assert 40 < len(held_out) < 120  # about a fifth
    assert split_rows(rows[:1], 3, 0.99999) == (rows[:1], [])  # never nothing to train on


def test_no_lora_and_sft_only_write_only_what_sft_needs(reviewed, tmp_path):
    out = tmp_path / "h"
    assert finetune(reviewed.root, "--out", out, "--no-lora", "--eval-share", "0").exit_code == 0
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["lora"] is None and "dpo" not in config and "preferences" not in config["data"]
    assert config["data"]["sft"]["eval"] is None and config["sft"]["learning_rate"] == 2e-5
    assert sorted(path.name for path in (out / "data").iterdir()) == ["sft.train.jsonl"]


def test_sftgen_writes_the_handoff_without_importing_torch_or_trl(reviewed, tmp_path):
    probe = (f"from sftgen.cli import app\n"
             f"app(['finetune', {str(reviewed.root)!r}, '--out', {str(tmp_path / 'h')!r}, '--method', 'sft+dpo'],"
             f" standalone_mode=False)\n"
             "import json, sys\nprint(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not modules & {"torch", "trl", "transformers", "peft", "datasets", "accelerate"}
    assert (tmp_path / "h" / "train.py").is_file()


@pytest.mark.parametrize("args, message", [
    (["--method", "ppo"], "error: --method ppo: expected one of sft, dpo, sft+dpo"),
    (["--eval-share", "1.5"], "error: --eval-share 1.5: expected a share from 0 up to (not including) 1"),
])
def test_bad_options_are_one_line(reviewed, tmp_path, args, message):
    result = finetune(reviewed.root, "--out", tmp_path / "h", *args)
    assert result.exit_code == 2 and result.output.strip() == message
    assert not (tmp_path / "h").exists()


def test_nothing_to_train_on_is_one_line_naming_what_makes_it(tmp_path):
    root = make_answer_project(tmp_path / "p")
    result = finetune(root, "--out", tmp_path / "h", "--method", "dpo")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "no preference pairs to train on" in result.output and "Traceback" not in result.output
    assert "no kept answers to train on" in finetune(root, "--out", tmp_path / "h").output


def test_run_with_a_python_without_torch_says_so_in_one_line(reviewed, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    result = finetune(reviewed.root, "--out", tmp_path / "h", "--run", "--python", bare / "bin" / "python")
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last == (f"error: --run: not started: {bare / 'bin' / 'python'} has no torch; the script is ready: "
                    f"python {tmp_path / 'h' / 'train.py'} where it can run")
