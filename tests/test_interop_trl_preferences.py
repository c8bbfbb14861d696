"""The preference export and the `sftgen finetune` hand-off as TRL uses them, from the `finetune` test venv
(torch from the CPU wheel, trl, transformers, peft, datasets; never in sftgen's own venv): `datasets` loads
the preference export and TRL's `DPOTrainer` runs a few steps on it; the script `sftgen finetune` writes runs
a few SFT and DPO steps with LoRA. Both on a 2-layer random Llama with a tokenizer trained in the test on the
exported texts, on the CPU, offline (HF_HUB_OFFLINE=1: nothing is downloaded)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from tests.support.preference_project import make_reviewed_project
from tests.support.tool_venvs import ToolVenvError, tool_python

pytestmark = [pytest.mark.interop, pytest.mark.timeout(2400)]

INTEROP = Path(__file__).parent / "interop"
NO_INDEX = ("Could not find a version", "No matching distribution", "NewConnectionError", "Failed to establish",
            "Temporary failure in name resolution", "Network is unreachable", "ConnectTimeout", "Read timed out")
"""What pip says when PyPI cannot be reached: then, and only then, the tests are skipped."""


@pytest.fixture(scope="module")
def python():
    try:
        return tool_python("finetune")
    except ToolVenvError as exc:
        if any(sign in str(exc) for sign in NO_INDEX):
            pytest.skip(f"the finetune test venv cannot be built without PyPI: {str(exc).splitlines()[0]}")
        raise


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    return make_reviewed_project(tmp_path_factory.mktemp("trl") / "p")


def offline_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf-home"), "CUDA_VISIBLE_DEVICES": ""}


def in_venv(python, tmp_path, *command, timeout=1200) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), *map(str, command)], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=offline_env(tmp_path))
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def last_json(done) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


def export(project, what, out, *args):
    result = CliRunner().invoke(app, ["export", str(project), "--what", what, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.is_file() else None


def test_trl_dpo_trainer_runs_on_the_preference_export_as_it_is(python, reviewed, tmp_path):
    rows = export(reviewed.root, "preferences", tmp_path / "prefs.jsonl")
    export(reviewed.root, "preferences", tmp_path / "prefs_hf", "--format", "hf")
    for exported in (tmp_path / "prefs.jsonl", tmp_path / "prefs_hf"):
        trained = last_json(in_venv(python, tmp_path, INTEROP / "trl_dpo.py", exported, tmp_path / f"dpo-{exported.name}"))
        assert trained["rows"] == len(rows) == 2
        assert {"prompt", "chosen", "rejected", "source", "chosen_id", "rejected_id"} <= set(trained["columns"])
        assert trained["steps"] == 3 and len(trained["losses"]) == 3
        assert all(math.isfinite(loss) and loss > 0 for loss in trained["losses"])
        assert "rewards/chosen" in trained["logged_keys"] or any("reward" in key for key in trained["logged_keys"])
        print(f"DPO on {exported.name}: {trained['train_seconds']:.1f} s for 3 steps, {trained['versions']}")


@pytest.mark.parametrize("lora", ["--lora", "--no-lora"])
def test_the_finetune_script_runs_sft_then_dpo_on_a_local_base_model(python, reviewed, tmp_path, lora):
    sft = tmp_path / "sft.jsonl"
    export(reviewed.root, "sft", sft)
    export(reviewed.root, "preferences", tmp_path / "prefs.jsonl")
    base = tmp_path / "tiny-base"
    in_venv(python, tmp_path, INTEROP / "tiny_base_model.py", base, sft, tmp_path / "prefs.jsonl")

    handoff = tmp_path / "handoff"
    result = CliRunner().invoke(app, ["finetune", str(reviewed.root), "--out", str(handoff), "--base-model", str(base),
                                      "--method", "sft+dpo", "--eval-share", "0", lora])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((handoff / "config.yaml").read_text(encoding="utf-8"))
    assert config["base_model"] == str(base.resolve())
    assert (config["lora"] or {}).get("target_modules") == ("all-linear" if lora == "--lora" else None)

    started = time.perf_counter()
    done = in_venv(python, tmp_path, handoff / "train.py", "--max-steps", "2")
    seconds = time.perf_counter() - started
    stage_seconds = {}
    for stage in ("sft", "dpo"):
        log = json.loads((handoff / "output" / stage / "training_log.json").read_text())
        stage_seconds[stage] = log["train_seconds"]
        assert log["steps"] == 2 and all(math.isfinite(entry["loss"]) for entry in log["log"])
        saved = {path.name for path in (handoff / "output" / stage).iterdir()}
        assert ("adapter_config.json" in saved) == (lora == "--lora") and "tokenizer.json" in saved
        assert ("model.safetensors" in saved) == (lora == "--no-lora")
    if lora == "--lora":  # the DPO adapter sits on the SFT model, merged
        dpo_adapter = json.loads((handoff / "output" / "dpo" / "adapter_config.json").read_text())
        assert dpo_adapter["base_model_name_or_path"] == str(handoff / "output" / "sft-merged")
    assert f"saved {handoff / 'output' / 'dpo'} after 2 steps" in done.stdout
    print(f"train.py sft+dpo {lora}, 2 steps each: {seconds:.1f} s in all (imports included), trainer.train(): {stage_seconds}")


def test_run_says_in_one_line_that_a_cpu_only_torch_will_not_train(python, reviewed, tmp_path):
    result = CliRunner().invoke(app, ["finetune", str(reviewed.root), "--out", str(tmp_path / "h"), "--run",
                                      "--python", str(python)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output and len(lines) == 2  # what was written, then why it did not start
    assert "sees no CUDA GPU" in lines[-1] and lines[-1].startswith("error: --run: not started: torch 2.13.0")
    assert (tmp_path / "h" / "train.py").is_file()
