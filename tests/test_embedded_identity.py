"""Which model the embedded provider serves and caches under: the alias from the GGUF's file name, its
content fingerprint in the LLM identity and the cache key, and `llm.threads` passed to the server."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import httpx
import pytest

from sftgen.llm.client import ChatClient
from sftgen.llm.embedded import EmbeddedServer, default_threads, packaged_gguf
from sftgen.llm.gguf import EDGE_BYTES, PROBES, gguf_fingerprint, model_alias, sample_blocks
from sftgen.llm.provider import llm_identity
from sftgen.recipe.model import LLM
from sftgen.store import Store
from tests.fakes.fake_openai_server import running_fake_server

SIZE = 8 * EDGE_BYTES


def fake_gguf(path: Path, seed: int = 0, size: int = SIZE) -> Path:
    path.write_bytes(bytes((i * 7 + seed) % 251 for i in range(256)) * (size // 256))
    return path


def test_the_alias_is_the_file_name_without_gguf():
    assert model_alias(Path("/m/SmolLM2-135M-Instruct.Q4_1.gguf")) == "SmolLM2-135M-Instruct.Q4_1"
    assert model_alias(Path("qwen2.5-0.5b-instruct-q4_k_m.GGUF")) == "qwen2.5-0.5b-instruct-q4_k_m"
    assert model_alias(Path("my model (v2).gguf")) == "my-model-v2"


def test_the_fingerprint_follows_the_content_not_the_name_or_the_time(tmp_path):
    original = fake_gguf(tmp_path / "a.gguf")
    copy = tmp_path / "b.gguf"
    shutil.copy(original, copy)
    os.utime(copy, (1_000_000, 1_000_000))
    assert gguf_fingerprint(original) == gguf_fingerprint(copy)

    def changed_at(offset: int) -> str:
        data = bytearray(original.read_bytes())
        data[offset] ^= 0xFF
        other = tmp_path / f"changed-{offset}.gguf"
        other.write_bytes(bytes(data))
        return gguf_fingerprint(other)

    blocks = sample_blocks(SIZE)
    assert len(blocks) == PROBES + 2 and sum(length for _, length in blocks) < SIZE / 2
    for offset, length in blocks:  # a byte changed in the head, in any probe or in the tail
        assert changed_at(offset + length // 2) != gguf_fingerprint(original), offset
    assert gguf_fingerprint(fake_gguf(tmp_path / "longer.gguf", size=SIZE + 256)) != gguf_fingerprint(original)


def test_switching_llm_model_to_another_gguf_changes_the_llm_identity(tmp_path):
    fake_gguf(tmp_path / "one.gguf", seed=1)
    fake_gguf(tmp_path / "two.gguf", seed=2)
    one = llm_identity(LLM(model="one.gguf"), tmp_path)
    assert one.startswith("embedded:one@") and one == llm_identity(LLM(model=str(tmp_path / "one.gguf")))
    assert llm_identity(LLM(model="two.gguf"), tmp_path).startswith("embedded:two@")
    fake_gguf(tmp_path / "one.gguf", seed=3)  # the same name, another model behind it
    assert llm_identity(LLM(model="one.gguf"), tmp_path) != one
    packaged = llm_identity(LLM(), tmp_path)
    assert packaged == f"embedded:SmolLM2-135M-Instruct.Q4_1@{gguf_fingerprint(packaged_gguf())}:json_object"


def test_a_missing_gguf_still_has_an_identity(tmp_path):
    assert llm_identity(LLM(model="gone.gguf"), tmp_path) == "embedded:gone:json_object"


def test_the_same_request_to_another_model_identity_is_not_a_cache_hit(tmp_path):
    store = Store(tmp_path / "store.db")

    async def ask(server, identity: str):
        client = ChatClient(server.base_url, "SmolLM2", cache=store, model_identity=identity)
        try:
            return await client.complete([{"role": "user", "content": "same words"}])
        finally:
            await client.aclose()

    with running_fake_server() as server:
        first = asyncio.run(ask(server, "SmolLM2@aaaa"))
        again = asyncio.run(ask(server, "SmolLM2@aaaa"))
        other = asyncio.run(ask(server, "SmolLM2@bbbb"))
        assert server.stats()["requests"] == 2
    assert again.cache_hit and not other.cache_hit and other.cache_key != first.cache_key


def test_threads_default_to_half_the_cpus_and_at_least_one():
    assert default_threads() == max(1, len(os.sched_getaffinity(0)) // 2)
    with pytest.raises(ValueError):
        LLM(threads=0)


@pytest.mark.embedded
def test_the_server_serves_a_gguf_under_its_own_name_with_the_recipe_threads(tmp_path):
    model = tmp_path / "Renamed-Model.Q4_1.gguf"
    os.link(packaged_gguf(), model) if os.stat(packaged_gguf()).st_dev == os.stat(tmp_path).st_dev \
        else shutil.copy(packaged_gguf(), model)
    with EmbeddedServer(model, 512, tmp_path / "server.log", threads=1) as server:
        served = [entry["id"] for entry in httpx.get(f"{server.base_url}/models", timeout=10).json()["data"]]
        command = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
    assert served == ["Renamed-Model.Q4_1"]
    assert command[command.index(b"--n_threads") + 1] == b"1"
    assert command[command.index(b"--n_threads_batch") + 1] == b"1"
