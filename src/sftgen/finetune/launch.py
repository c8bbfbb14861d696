"""`sftgen finetune --run`: start the written script with a Python that has torch and a GPU, or say in one line
why not. What that Python has is asked in a child process: sftgen never imports torch or TRL itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

PROBE_TIMEOUT_S = 300
PROBE = """
import importlib.util, json, sys
wanted = sys.argv[1:]
info = {"missing": [name for name in wanted if importlib.util.find_spec(name) is None]}
if "torch" not in info["missing"]:
    import torch
    info["torch"] = torch.__version__
    info["gpus"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
print(json.dumps(info))
"""
PIP_NAME = {"yaml": "pyyaml"}


def needed_modules(lora: bool) -> list[str]:
    return ["torch", "transformers", "trl", "datasets", "yaml", *(["peft"] if lora else [])]


def why_it_cannot_run(python: Path, lora: bool) -> str | None:
    """None when `python` has torch with a CUDA device and every package the script imports; else the reason."""
    try:
        done = subprocess.run([str(python), "-c", PROBE, *needed_modules(lora)], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start {python}: {exc}"
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{python} could not tell what it has installed ({last[:200]})"
    if "torch" in info["missing"]:
        return f"{python} has no torch"
    if not info["gpus"]:
        return f"torch {info['torch']} ({python}) sees no CUDA GPU"
    if info["missing"]:
        names = [PIP_NAME.get(name, name) for name in info["missing"]]
        return f"{python} lacks {', '.join(names)} (pip install {' '.join(names)})"
    return None


def launch(python: Path, script: Path, config: Path) -> int:
    """Run the script in the foreground (its output is the user's); its exit code."""
    try:
        return subprocess.run([str(python), str(script), "--config", str(config)], cwd=script.parent).returncode
    except KeyboardInterrupt:
        return 130
