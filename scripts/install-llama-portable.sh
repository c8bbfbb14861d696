#!/usr/bin/env bash
# Installs llama-cpp-python (the embedded LLM's server) into a venv, built for a portable x86-64 baseline
# instead of the host CPU. llama.cpp's default (GGML_NATIVE=ON) compiles with -march=native: a wheel built
# on a machine with AVX-512 or AMX dies with SIGILL on a machine of the same kind without them, and pip
# reuses such a wheel from its cache whatever CMAKE_ARGS say. So this script:
#   - builds with GGML_NATIVE=OFF and names the instruction sets (AVX2, FMA, F16C, BMI2: x86-64-v3),
#   - never reads or writes pip's wheel cache for it (its own cache holds only portable builds),
#   - checks the installed libraries' machine code (check-portable-build.py: AVX-512, AMX, AVX-VNNI...) and
#     replaces an installed build that fails it; a cached wheel that fails it is deleted and built again.
# Usage: install-llama-portable.sh VENV_PYTHON
set -euo pipefail
PY=${1:?usage: install-llama-portable.sh VENV_PYTHON}
VERSION=0.3.36
HERE=$(cd "$(dirname "$0")" && pwd)

case "$(uname -m)" in
  x86_64)
    if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
      LEVEL=x86-64-v3
      ISA="-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    else
      LEVEL=x86-64-v2
      ISA="-DGGML_SSE42=ON -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF"
    fi
    ISA="$ISA -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF"
    ISA="$ISA -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    ;;
  *)
    LEVEL="$(uname -m)-generic"
    ISA=""
    ;;
esac
CMAKE_FLAGS="-DGGML_NATIVE=OFF $ISA -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
CACHE=${SFTGEN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sftgen/wheels}/llama-cpp-python-$VERSION-$LEVEL

installed_version() {
  "$PY" - <<'PYEOF' 2>/dev/null || true
import importlib.metadata as m
try:
    print(m.version("llama_cpp_python"))
except m.PackageNotFoundError:
    pass
PYEOF
}

check() {  # exit 0: portable; 1: not; 2: cannot tell (no objdump)
  "$PY" "$HERE/check-portable-build.py" "$@"
}

build_wheel() {
  echo "Building llama-cpp-python $VERSION for $LEVEL (no host-specific instructions; 5-13 minutes on 2 cores)..."
  local build
  build=$(mktemp -d)
  # --no-binary: never a prebuilt wheel from an index or find-links; --no-cache-dir: never one pip cached
  # from an earlier (native) build, and never leave this one in pip's cache either.
  CMAKE_ARGS="$CMAKE_FLAGS" FORCE_CMAKE=1 "$PY" -m pip wheel -q --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$build"
  mkdir -p "$CACHE"
  mv "$build"/llama_cpp_python-"$VERSION"-*.whl "$CACHE"/
  rm -rf "$build"
}

cached_wheel() {
  ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true
}

if [ "$(installed_version)" = "$VERSION" ]; then
  status=0
  check --quiet || status=$?
  [ "$status" -eq 0 ] && exit 0
  if [ "$status" -eq 2 ]; then
    check || true  # prints why it cannot tell
    exit 1
  fi
  echo "the installed llama-cpp-python $VERSION was built for a specific CPU; replacing it with a portable build"
fi

for attempt in 1 2; do
  wheel=$(cached_wheel)
  [ -n "$wheel" ] || { build_wheel; wheel=$(cached_wheel); }
  "$PY" -m pip install -q --no-cache-dir --no-deps --force-reinstall "$wheel"
  status=0
  check || status=$?
  [ "$status" -eq 0 ] && exit 0
  [ "$status" -eq 2 ] && exit 1
  if [ "$attempt" -eq 1 ]; then
    echo "the cached wheel $wheel is not portable: removing it and building from source" >&2
    rm -f "$wheel"
  fi
done
echo "llama-cpp-python $VERSION built with $CMAKE_FLAGS still holds instructions beyond $LEVEL" >&2
exit 1
