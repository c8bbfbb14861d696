"""The static embedder: normalised float32 rows, meaning-aware similarities, lazy imports, a clear
error when the extra is missing, and a distilled folder that only ever appears complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sftgen.embed.cache import COMPLETE_MARKER, cache_root, publish
from sftgen.embed.errors import EmbedderUnavailable, require
from tests.support.embedder import embedder  # noqa: F401  (session fixture)


def test_rows_are_float32_and_unit_length(embedder):
    vectors = embedder.encode(["What is a quark?", "How strong is the strong force?", "", "!!!"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, embedder.dim)
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[:2], 1.0, atol=1e-4)
    assert norms[2] == 0.0  # nothing to embed gives a zero row, never NaN
    assert not np.isnan(vectors).any()
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_paraphrases_are_closer_than_unrelated_texts(embedder):
    a, b, c = embedder.encode([
        "How do quarks acquire their mass?",
        "What gives quarks their mass?",
        "Which oven temperature is best for sourdough bread?",
    ])
    assert float(a @ b) > 0.7
    assert float(a @ b) > float(a @ c) + 0.4


def test_encoding_is_deterministic(embedder):
    texts = ["Explain colour confinement.", "Compare up and down quarks."]
    assert np.array_equal(embedder.encode(texts), embedder.encode(texts))
    assert embedder.name and embedder.dim == embedder.encode(texts).shape[1]


def test_import_sftgen_loads_no_heavy_package():
    code = "import sys, sftgen, sftgen.embed; print(sorted(m for m in ('torch', 'model2vec', 'faiss', 'datasketch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_package_names_the_extra():
    with pytest.raises(EmbedderUnavailable, match=r"sftgen\[embed\].*missing: no_such_module_xyz"):
        require("no_such_module_xyz", purpose="the embedder")


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SFTGEN_CACHE_DIR", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    assert cache_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_publish_keeps_the_first_complete_folder(tmp_path):
    target = tmp_path / "model"
    first, second = tmp_path / ".tmp1", tmp_path / ".tmp2"
    for folder, text in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / COMPLETE_MARKER).write_text(text)
    publish(first, target)
    publish(second, target)  # a second process finishing later must not fail nor overwrite
    assert (target / COMPLETE_MARKER).read_text() == "first"


def test_publish_replaces_an_incomplete_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "config.json").write_text("{}")  # left by a crash before the rename existed
    scratch = tmp_path / ".tmp"
    scratch.mkdir()
    (scratch / COMPLETE_MARKER).write_text("new")
    publish(scratch, target)
    assert (target / COMPLETE_MARKER).read_text() == "new"
    assert not Path(scratch).exists()
