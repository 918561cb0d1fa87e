#!/usr/bin/env bash
# Installs Debian's Chromium (and its driver) when it is missing: the only way a browser gets
# onto this machine. The browser tests and the JS SDK's tests drive it with playwright-core.
# A Japanese font comes with it, so that Japanese pages are drawn (and measured) with real
# glyphs rather than empty boxes.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]] || ! dpkg -s fonts-ipafont-gothic >/dev/null 2>&1; then
  echo "installing Chromium and a Japanese font from Debian packages" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver fonts-ipafont-gothic
fi
