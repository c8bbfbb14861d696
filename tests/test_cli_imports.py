"""The command line imports what a command uses when it runs: `import sftgen.cli` loads no step and no
machine-learning package, and `sftgen status` builds the pipeline without loading the steps' heavy
packages (start-up times: bench/cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.projects import example_project

HEAVY = ["numpy", "pyarrow", "scipy", "datasketch", "aiohttp", "httpx", "trafilatura", "pypdf", "bm25s", "datasets",
         "model2vec", "torch", "jinja2"]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_cli_loads_no_step_and_no_heavy_package():
    modules = loaded_after("import sftgen.cli")
    assert not {m for m in modules if m.startswith(("sftgen.steps", "sftgen.pipeline", "sftgen.export"))}
    assert not modules & set(HEAVY)


def test_status_builds_the_pipeline_without_the_steps_heavy_packages(tmp_path):
    project = example_project(tmp_path / "p")
    modules = loaded_after(
        "from sftgen.cli import app\n"
        f"app(['status', {str(project)!r}], standalone_mode=False)"
    )
    assert "sftgen.steps.generate" in modules and "sftgen.steps.dedup" in modules  # the pipeline was built
    assert not modules & set(HEAVY)
