#!/bin/sh
# Installs what the test suite needs outside the Python venv. Idempotent: safe to run again.
set -eu

# Browser tests (tests/test_review_browser*.py) drive Debian's headless Chromium through Python playwright;
# `playwright install` is never used (no browser downloads).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# The searxng backend's tests (tests/test_search_searxng.py) start Debian's searx (`searx-run`) on
# 127.0.0.1 with one offline engine; it uses the system python3, not the venv.
if ! command -v searx-run >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y searx
fi
