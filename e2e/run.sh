#!/usr/bin/env bash
# Browser end-to-end tests for the Saifu wallet: headless Chromium (Debian's package) driven by
# playwright-core, with Chromium's virtual WebAuthn authenticator, against real wallet processes.
#
#   bash e2e/run.sh                      # build target/debug/saifu, then run every test
#   SAIFU_BIN=target/debug/saifu bash e2e/run.sh    # use an existing binary, skip the build
#   SAIFU_E2E_DATABASE_URL=postgres://... bash e2e/run.sh   # run against PostgreSQL
#   bash e2e/run.sh passkeys.test.js     # run only some test files
#
# Screenshots (and failure screenshots) go to e2e/test-results/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

# Chromium from Debian: the only way a browser gets onto this machine.
bash "$here/install-chromium.sh"

cd "$here"
# playwright-core never downloads a browser; this keeps any postinstall from trying.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund

if [[ -z "${SAIFU_BIN:-}" ]]; then
  echo "e2e: building the wallet (cargo build --bin saifu)" >&2
  (cd "$root" && cargo build --bin saifu)
  SAIFU_BIN="$root/target/debug/saifu"
fi
case "$SAIFU_BIN" in /*) ;; *) SAIFU_BIN="$root/$SAIFU_BIN" ;; esac
if [[ ! -x "$SAIFU_BIN" ]]; then
  echo "e2e: SAIFU_BIN=$SAIFU_BIN is not an executable" >&2
  exit 1
fi
export SAIFU_BIN

mkdir -p "$here/test-results"
rm -f "$here"/test-results/failure-*.png   # stale ones from an earlier run

if [[ $# -gt 0 ]]; then
  files=("$@")
else
  files=(*.test.js)
fi

# One file at a time: each starts its own wallet and browser, and the machine has 2 cores.
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
