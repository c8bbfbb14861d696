"""Checks that the installed llama-cpp-python carries no machine code beyond the portable x86-64-v3 baseline
(AVX2, FMA, F16C, BMI2). Forbidden:
  - every EVEX-encoded instruction (AVX-512 and AVX10, whatever its registers: AVX-512VL code on ymm0-15
    looks like AVX2 by its operands, only its 0x62 prefix gives it away),
  - AVX-512 registers (zmm, mask k1-k7, xmm16-31/ymm16-31) and AMX (tmm registers, tile instructions),
  - the VEX-encoded extensions newer than AVX2 (AVX-VNNI, AVX-IFMA, AVX-NE-CONVERT, SHA512, SM3/SM4).
A native build from another machine of this kind dies with SIGILL at the first completion; this finds it
before a run does. Exit 0 when portable, 1 when not, 2 when it cannot tell."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Each pattern matches within one line of `objdump -d --insn-width=15` (no instruction wraps onto a line of
# bytes only), such as "  4005d6:\t62 f1 7c 48 58 c1 \tvaddps %zmm1,%zmm0,%zmm0".
ADDRESS = r"^[ \t]*[0-9a-f]+:\t"
# In 64-bit mode 0x62 (BOUND in 32-bit code) always opens an EVEX instruction; only segment overrides and
# the address-size prefix may stand before it.
EVEX_INSTRUCTION = ADDRESS + r"(?:(?:26|2e|36|3e|64|65|67) )*62 "
PREFIXES = r"(?:(?:\{vex3?\}|\{evex\}|lock|rep[a-z]*|notrack|bnd|data16|addr32|[c-gs]s) +)*"
FORBIDDEN_MNEMONIC = (
    ADDRESS + r"[0-9a-f ]+\t" + PREFIXES +
    r"(?:tile[a-z0-9]+|ldtilecfg|sttilecfg|tdp[a-z0-9]+|tcmm[a-z0-9]+|tcvt[a-z0-9]+"  # AMX
    r"|vpdp[a-z]+|vpmadd52[a-z]+|vcvtne[a-z0-9]+|vbcstne[a-z0-9]+"  # AVX-VNNI(-INT8/16), AVX-IFMA, AVX-NE-CONVERT
    r"|vsha512[a-z0-9]+|vsm3[a-z0-9]+|vsm4[a-z0-9]+)\b"
)
# Registers: objdump's symbol names (<...>) never hold a '%'.
FORBIDDEN_REGISTER = r"%zmm\d+|%tmm\d|%[xy]mm(?:1[6-9]|2\d|3[01])\b|%k[1-7]\b"
FORBIDDEN = re.compile("|".join(f"(?:{p})" for p in (EVEX_INSTRUCTION, FORBIDDEN_MNEMONIC, FORBIDDEN_REGISTER)),
                       re.MULTILINE)


def library_folder() -> Path | None:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def distinct_files(paths) -> list[Path]:
    """One of each content: a wheel holds libx.so, libx.so.0 and libx.so.0.1 as copies, not links."""
    by_digest: dict[str, Path] = {}
    for path in sorted(paths):
        by_digest.setdefault(hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest(), path)
    return sorted(by_digest.values())


def first_forbidden(library: Path) -> str | None:
    """The first instruction of `library` beyond x86-64-v3, as objdump prints it, or None."""
    listing = subprocess.run(["objdump", "-d", "--insn-width=15", str(library)],
                             capture_output=True, text=True, check=True).stdout
    found = FORBIDDEN.search(listing)
    if found is None:
        return None
    line_start = listing.rfind("\n", 0, found.start()) + 1
    line_end = listing.find("\n", found.end())
    return " ".join(listing[line_start:line_end if line_end != -1 else None].split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", action="store_true", help="print nothing when the build is portable")
    quiet = parser.parse_args().quiet
    if platform.machine() != "x86_64":
        return 0
    folder = library_folder()
    if folder is None or not folder.is_dir():
        print("llama-cpp-python is not installed", file=sys.stderr)
        return 1
    if shutil.which("objdump") is None:
        print("objdump (binutils) is missing: cannot check the llama.cpp build", file=sys.stderr)
        return 2
    libraries = distinct_files(folder.glob("*.so*"))
    if not libraries:
        print(f"{folder}: no shared libraries", file=sys.stderr)
        return 1
    for library in libraries:
        instruction = first_forbidden(library)
        if instruction is not None:
            if not quiet:
                print(f"{library.name} was built for a specific CPU (found: {instruction})", file=sys.stderr)
            return 1
    if not quiet:
        print(f"llama.cpp build is portable: {', '.join(lib.name for lib in libraries)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
