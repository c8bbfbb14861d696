"""What names a GGUF model file: the alias the embedded server serves it under (from its file name) and a
fingerprint of its content, which goes into the LLM identity and the request cache key, so a project that
switches `llm.model` to another GGUF never gets the old model's cached replies.

The fingerprint is a SHA-256 of the file size, the first and the last MiB and 16 blocks of 64 KiB spread
evenly in between: about 3 MiB read whatever the size (milliseconds for a 135M model and for a 70B one),
no state kept beside the file, and the same on every machine and after a copy or a `touch` (a size + mtime
key would change with either and still need a full read behind it to be a content hash). Two GGUFs that
differ only outside every sampled block would share it; models differ in their tensor data throughout
(a fine-tune changes every layer, a requantisation every block), and the first MiB holds the metadata
(architecture, name, quantisation, tokenizer), so that does not happen in practice."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

EDGE_BYTES = 1024 * 1024
PROBES = 16
PROBE_BYTES = 64 * 1024
FINGERPRINT_CHARS = 16
_UNSAFE = re.compile(r"[^0-9A-Za-z._+-]+")


def model_alias(path: Path) -> str:
    """The file name without `.gguf`, in the characters a model name can hold safely
    (`SmolLM2-135M-Instruct.Q4_1.gguf` -> `SmolLM2-135M-Instruct.Q4_1`)."""
    name = path.name[: -len(".gguf")] if path.name.lower().endswith(".gguf") else path.name
    return _UNSAFE.sub("-", name).strip("-.") or "model"


def gguf_identity(path: Path) -> str:
    """`alias@fingerprint`: what the LLM identity and the request cache key name a GGUF model by."""
    return f"{model_alias(path)}@{gguf_fingerprint(path)}"


def gguf_fingerprint(path: Path) -> str:
    """A content hash of the sampled blocks described above (hex, FINGERPRINT_CHARS long)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        digest.update(f"gguf:{size}:".encode())
        for offset, length in sample_blocks(size):
            file.seek(offset)
            digest.update(file.read(length))
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def sample_blocks(size: int) -> list[tuple[int, int]]:
    """(offset, length) of the blocks hashed: the whole file when it is small, else head, probes, tail."""
    if size <= 2 * EDGE_BYTES + PROBES * PROBE_BYTES:
        return [(0, size)]
    middle_start, middle_end = EDGE_BYTES, size - EDGE_BYTES
    step = (middle_end - middle_start - PROBE_BYTES) // (PROBES - 1)
    probes = [(middle_start + i * step, PROBE_BYTES) for i in range(PROBES)]
    return [(0, EDGE_BYTES), *probes, (middle_end, EDGE_BYTES)]
