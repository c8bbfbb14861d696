#!/usr/bin/env bash
# Installs sftgen with every extra into .venv (Python 3.11+). Safe to run again: pip skips what is there.
# The first run builds llama-cpp-python from source for a portable CPU baseline (5-13 minutes on 2 cores;
# scripts/install-llama-portable.sh keeps the wheel in its own cache), then checks that the embedded model
# answers one tiny completion.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "sftgen needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi
if ! command -v objdump >/dev/null 2>&1; then  # the portable-build check reads the llama.cpp libraries
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q binutils
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q -U pip wheel setuptools
# The CPU build of torch (used once, to distil the static embedder); a plain `torch` would pull a CUDA build.
.venv/bin/pip install -q 'torch==2.13.0'
bash scripts/install-llama-portable.sh .venv/bin/python
.venv/bin/pip install -q -e '.[all,test]'
.venv/bin/python -m sftgen.llm.smoke_test
