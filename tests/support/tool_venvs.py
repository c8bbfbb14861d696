"""Virtual environments for the tools sftgen's exports and imports must work with (Label Studio, the Argilla
SDK, datasets / duckdb / TRL). Each is made once per machine under
~/.cache/sftgen/test-venvs/<name>-<hash of its requirements and the Python version>, never in sftgen's own
.venv, and reused while its marker file is there: a second run costs one stat.

    python -m tests.support.tool_venvs [NAME ...]   # make them ahead of the tests (prints the minutes taken)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TOOLS: dict[str, list[str]] = {
    # Label Studio's server (Django, SQLite); the tests drive it over its REST API on 127.0.0.1.
    "labelstudio": ["label-studio==1.23.2"],
    # The Argilla SDK only: its server needs Elasticsearch, so the tests use the SDK's offline classes.
    # argilla 2.8.0 imports `requests` without declaring it (huggingface_hub 1.x+ no longer brings it).
    "argilla": ["argilla==2.8.0", "requests"],
    # Readers of the exports, and a few training steps of TRL on the sft export (torch: the CPU wheel).
    "hf": ["torch==2.13.0", "datasets==5.2.0", "huggingface-hub==2.4.0", "duckdb==2.0.0", "pandas==3.1.1",
           "trl==1.16.0", "transformers==5.23.0", "tokenizers==0.23.3", "accelerate==1.15.0"],
    # What the script `sftgen finetune` writes imports (LoRA through peft), and DPO on the preference export.
    "finetune": ["torch==2.13.0", "datasets==5.2.0", "trl==1.16.0", "transformers==5.23.0", "tokenizers==0.23.3",
                 "accelerate==1.15.0", "peft==0.21.2", "pyyaml==6.0.4"],
}
ROOT = Path(os.environ.get("SFTGEN_TEST_VENVS") or Path.home() / ".cache" / "sftgen" / "test-venvs")
READY = ".sftgen-ready"
INSTALL_TIMEOUT_S = 1500
"""One install, first time on a machine; pip's own --timeout bounds each network read."""


class ToolVenvError(RuntimeError):
    pass


def venv_dir(name: str) -> Path:
    requirements = TOOLS[name]
    key = "\n".join([f"{sys.version_info.major}.{sys.version_info.minor}", *requirements])
    return ROOT / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def python_of(folder: Path) -> Path:
    return folder / "bin" / "python"


def tool_python(name: str) -> Path:
    """The Python of the tool's venv, made first if needed (one process at a time, others wait for it)."""
    folder = venv_dir(name)
    if (folder / READY).is_file():
        return python_of(folder)
    ROOT.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / READY).is_file():
            build(name, folder)
    return python_of(folder)


def build(name: str, folder: Path) -> None:
    if folder.exists():  # a build that was cut off: start again
        shutil.rmtree(folder)
    log = folder.with_name(folder.name + ".log")
    started = time.monotonic()
    with open(log, "w") as out:
        run([sys.executable, "-m", "venv", str(folder)], out, log)
        pip = [str(python_of(folder)), "-m", "pip", "--timeout", "60", "--retries", "2"]
        run([*pip, "install", "-q", "-U", "pip"], out, log)
        run([*pip, "install", "-q", *TOOLS[name]], out, log)
    (folder / READY).write_text(f"{time.monotonic() - started:.0f} s\n" + "\n".join(TOOLS[name]) + "\n")


def run(command: list[str], out, log: Path) -> None:
    out.write("$ " + " ".join(command) + "\n")
    out.flush()
    try:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=INSTALL_TIMEOUT_S,
                       stdin=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ToolVenvError(f"{' '.join(command[-3:])}: {exc}; the end of {log}:\n{tail}") from exc


def main(names: list[str]) -> None:
    for name in names or list(TOOLS):
        started = time.monotonic()
        python = tool_python(name)
        print(f"{name}: {python} ({(time.monotonic() - started) / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
