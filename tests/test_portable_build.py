"""The portable llama.cpp build: the checker finds every instruction beyond x86-64-v3 in a shared library,
the installed llama-cpp-python passes it, and the installer replaces an installed build that fails it."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
CHECKER = SCRIPTS / "check-portable-build.py"
INSTALLER = SCRIPTS / "install-llama-portable.sh"

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64" or shutil.which("objdump") is None,
                                reason="the check reads x86-64 machine code with objdump")


def load_checker():
    spec = importlib.util.spec_from_file_location("check_portable_build", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = load_checker()

# Each sample has the instruction set beyond x86-64-v3 that a native build on this machine kind would use.
SAMPLES = {
    "avx512f": (["-mavx512f"], "#include <immintrin.h>\n"
                "void add(float *a, const float *b) {\n"
                "  _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));\n}\n", "zmm"),
    # AVX-512VL on ymm0-15: its operands look like AVX2; only the EVEX prefix (0x62) tells.
    "avx512vl": (["-mavx512f", "-mavx512vl"], "#include <immintrin.h>\n"
                 "void mix(int *a, const int *b) {\n"
                 "  __m256i x = _mm256_loadu_si256((const __m256i *)a), y = _mm256_loadu_si256((const __m256i *)b);\n"
                 "  _mm256_storeu_si256((__m256i *)a, _mm256_ternarylogic_epi32(x, y, x, 0x96));\n}\n",
                 "vpternlogd"),
    "amx": (["-mamx-tile"], "#include <immintrin.h>\n"
            "void load(const void *p) { _tile_loadd(0, p, 64); _tile_release(); }\n", "tileloadd"),
    "amx_asm": ([], "void load(const void *p) { __asm__ volatile(\"tileloadd (%0,%1,1), %%tmm0\" "
                ":: \"r\"(p), \"r\"(64L)); }\n", "tileloadd"),
    "avx_vnni": (["-mavxvnni"], "#include <immintrin.h>\n"
                 "__m256i dot(__m256i acc, __m256i a, __m256i b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }\n",
                 "vpdpbusd"),
}
PLAIN = ("float sum(const float *a, int n) { float s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }\n"
         "void tile_loadd_helper(void) {}\n")  # a symbol named like an AMX instruction is not one


def shared_library(tmp_path: Path, name: str, flags: list[str], source: str) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile the sample libraries")
    c_file, library = tmp_path / f"{name}.c", tmp_path / f"lib{name}.so"
    c_file.write_text(source)
    compiled = subprocess.run(["gcc", "-O2", "-shared", "-fPIC", *flags, str(c_file), "-o", str(library)],
                              capture_output=True, text=True)
    if compiled.returncode != 0 and any(flag.startswith("-mamx") or flag == "-mavxvnni" for flag in flags):
        pytest.skip(f"this gcc cannot compile {flags}: {compiled.stderr.strip()[:200]}")
    assert compiled.returncode == 0, compiled.stderr
    return library


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_checker_finds_instructions_beyond_the_baseline(tmp_path, name):
    flags, source, expected = SAMPLES[name]
    found = checker.first_forbidden(shared_library(tmp_path, name, flags, source))
    assert found is not None and expected in found


@pytest.mark.parametrize("flags", [[], ["-march=x86-64-v3"]], ids=["O2", "x86-64-v3"])
def test_a_library_built_for_the_baseline_passes(tmp_path, flags):
    assert checker.first_forbidden(shared_library(tmp_path, "plain", flags, PLAIN)) is None


def test_the_installed_llama_cpp_python_is_portable():
    checked = subprocess.run([sys.executable, str(CHECKER)], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr
    assert "libggml-cpu.so" in checked.stdout


def test_the_installer_builds_the_version_the_package_pins():
    pinned = re.search(r'"llama-cpp-python\[server\]==([\d.]+)"', (SCRIPTS.parent / "pyproject.toml").read_text())
    built = re.search(r"^VERSION=([\d.]+)$", INSTALLER.read_text(), re.MULTILINE)
    assert pinned and built and pinned.group(1) == built.group(1)


def cached_wheel() -> Path | None:
    root = Path(os.environ.get("SFTGEN_WHEEL_CACHE") or Path.home() / ".cache" / "sftgen" / "wheels")
    version = re.search(r"^VERSION=([\d.]+)$", INSTALLER.read_text(), re.MULTILINE).group(1)
    return next(iter(sorted(root.glob(f"llama-cpp-python-{version}-*/llama_cpp_python-{version}-*.whl"))), None)


@pytest.mark.timeout(900)
def test_the_installer_replaces_an_installed_build_made_for_another_cpu(tmp_path):
    """A build with AVX-512 code in place (what pip would reuse from a native build) is found and replaced
    by the portable wheel from the installer's own cache; nothing is built."""
    if cached_wheel() is None:
        pytest.skip("no portable wheel in the installer's cache (scripts/setup.sh leaves one)")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    python = tmp_path / "venv" / "bin" / "python"

    def install() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(INSTALLER), str(python)], capture_output=True, text=True, timeout=600)

    first = install()
    assert first.returncode == 0, first.stdout + first.stderr
    library = next((tmp_path / "venv").glob("lib/python*/site-packages/llama_cpp/lib/libggml-cpu.so"))
    native = shared_library(tmp_path, "native", *SAMPLES["avx512f"][:2])
    shutil.copyfile(native, library)

    second = install()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "built for a specific CPU" in second.stdout
    assert library.read_bytes() != native.read_bytes()
    assert "Building" not in second.stdout
    recheck = subprocess.run([str(python), str(CHECKER)], capture_output=True, text=True, timeout=300)
    assert recheck.returncode == 0, recheck.stderr
