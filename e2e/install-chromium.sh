#!/usr/bin/env bash
# Installs Debian's Chromium (and its driver) when it is missing: the only way a browser gets
# onto this machine. The browser tests and the JS SDK's tests drive it with playwright-core.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  echo "installing Chromium from Debian packages" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi
