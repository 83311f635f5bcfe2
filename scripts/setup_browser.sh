#!/usr/bin/env bash
# Test harness only: Debian's Chromium (apt) and Playwright for Python (PyPI), which drives that system browser.
# No browser is downloaded from anywhere else. If Chromium cannot be installed, this says why and goes on:
# the browser test then fails with that reason (it never skips).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } \
            >/tmp/styleheat-apt-chromium.log 2>&1 || echo "setup_browser: apt-get install chromium failed (see /tmp/styleheat-apt-chromium.log)" >&2
    else
        echo "setup_browser: /usr/bin/chromium is missing and this is not root: install the Debian package 'chromium'" >&2
    fi
fi
if ! .venv/bin/python -c "import playwright.sync_api" 2>/dev/null; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install --quiet --disable-pip-version-check "playwright>=1.40" \
        || echo "setup_browser: pip install playwright failed" >&2
fi
exit 0
