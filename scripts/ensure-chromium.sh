#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through chromedriver. Installs both when missing
# (as root, with apt); otherwise says what to install. Exits non-zero when they are unavailable,
# so a run without a browser fails instead of silently skipping the browser tests.
set -euo pipefail

have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

if have; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! have; then
  cat >&2 <<MSG
The browser tests need Chromium and its WebDriver (chromedriver) on PATH.
On Debian/Ubuntu: sudo apt-get install chromium chromium-driver
MSG
  exit 1
fi
