"""Checks that the installed llama-cpp-python carries no machine code beyond the portable x86-64 baseline
(AVX2, FMA, F16C): no AVX-512 (zmm, mask or upper-16 vector registers), no AMX (tmm registers, tile
instructions), no AVX-VNNI. A native build from another machine of this kind dies with SIGILL at the first
completion; this finds it before a run does. Exit 0 when portable, 1 when not, 2 when it cannot tell."""

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

FORBIDDEN = re.compile(
    r"%zmm\d+|%tmm\d|%[xy]mm(1[6-9]|2\d|3[01])\b|%k[1-7]\b|\btile(loadd|stored|zero|release|cfg)|"
    r"\btdpb[a-z]*|\bvpdp(bu|ws)s?d"
)


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
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)],
                             capture_output=True, text=True, check=True).stdout
    found = FORBIDDEN.search(listing)
    if found is None:
        return None
    line_start = listing.rfind("\n", 0, found.start()) + 1
    line_end = listing.find("\n", found.end())
    return listing[line_start:line_end].strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
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
