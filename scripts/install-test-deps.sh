#!/bin/sh
# Installs what the test suite needs outside the Python venv. Idempotent: safe to run again.
set -eu

# Browser tests (tests/test_review_browser*.py) drive Debian's headless Chromium through Python playwright;
# `playwright install` is never used (no browser downloads).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
