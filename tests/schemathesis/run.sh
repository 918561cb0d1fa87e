#!/usr/bin/env bash
# Fuzzes the wallet's JSON APIs from their own OpenAPI document (/openapi.json) with
# schemathesis: a real wallet process on a free port with a throwaway SQLite data dir, one
# merchant's credentials (HTTP Basic), and the checks not_a_server_error,
# response_schema_conformance, status_code_conformance and content_type_conformance. Bounded
# in time; exits non-zero on any failure.
#
#   bash tests/schemathesis/run.sh                                # builds target/debug/saifu first
#   SAIFU_BIN=target/debug/saifu bash tests/schemathesis/run.sh   # uses an existing binary
#   SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_MAX_TIME=600 bash tests/schemathesis/run.sh
#
# schemathesis (PyPI, pinned below) is installed once into target/schemathesis-venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="4.32.5"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
max_time="${SCHEMATHESIS_MAX_TIME:-60}"

if [[ -z "${SAIFU_BIN:-}" ]]; then
  echo "schemathesis: building the wallet (cargo build --bin saifu)" >&2
  (cd "$root" && cargo build --bin saifu)
  SAIFU_BIN="$root/target/debug/saifu"
fi
case "$SAIFU_BIN" in /*) ;; *) SAIFU_BIN="$root/$SAIFU_BIN" ;; esac
[[ -x "$SAIFU_BIN" ]] || { echo "schemathesis: SAIFU_BIN=$SAIFU_BIN is not an executable" >&2; exit 1; }

venv="$root/target/schemathesis-venv"
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null || true)" != *"version $version"* ]]; then
  echo "schemathesis: installing schemathesis $version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

work="$(mktemp -d)"
wallet_pid=""
cleanup() {
  if [[ -n "$wallet_pid" ]]; then kill "$wallet_pid" 2>/dev/null || true; wait "$wallet_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export SAIFU_DATA_DIR="$work/data" SAIFU_LISTEN="127.0.0.1:$port" SAIFU_ISSUER="http://localhost:$port"
export SAIFU_LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
unset SAIFU_DATABASE_URL SAIFU_CONFIG

creds="$("$SAIFU_BIN" merchant create --name "Schemathesis Shop" \
  --redirect-uri "http://localhost:$port/callback" --verified --json)"
client_id="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["client_id"])' "$creds")"
client_secret="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["client_secret"])' "$creds")"

"$SAIFU_BIN" serve >"$work/wallet.log" 2>&1 &
wallet_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$wallet_pid" 2>/dev/null || { cat "$work/wallet.log" >&2; echo "schemathesis: the wallet did not start" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || { echo "schemathesis: the wallet is not ready" >&2; exit 1; }

status=0
# timeout: a hard stop well past --max-time, should a request hang.
# From the throwaway dir: schemathesis and hypothesis keep their caches in the current one.
(cd "$work" && timeout $((max_time + 60)) "$venv/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --auth "$client_id:$client_secret" \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --request-timeout 10 \
  --seed "${SCHEMATHESIS_SEED:-$RANDOM}" \
  --workers 2) || status=$?

if [[ $status -ne 0 ]]; then
  echo "schemathesis: failed (exit $status); the wallet's log:" >&2
  grep -E '"level":"(ERROR|WARN)"' "$work/wallet.log" | tail -n 40 >&2 || true
fi
exit "$status"
