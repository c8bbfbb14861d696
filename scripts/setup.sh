#!/usr/bin/env bash
# Installs sftgen with every extra into .venv (Python 3.11+). Safe to run again: pip skips what is there.
# The first run builds llama-cpp-python from source (5-11 minutes on 2 cores); pip caches the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "sftgen needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q -U pip wheel setuptools
.venv/bin/pip install -q -e '.[all,test]'
