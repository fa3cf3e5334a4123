#!/usr/bin/env bash
# Install Debian's Chromium and its chromedriver for the report page's browser tests
# (tests/test_report_page.py), as root, when either is missing:
#   tests/engines/chromium_up.sh
# `make test` runs it first; the tests drive /usr/bin/chromedriver, never a downloaded driver.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "chromium_up: chromium or chromedriver is missing and this is not root:" \
    "install them (apt-get install chromium chromium-driver)" >&2; exit 2; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
