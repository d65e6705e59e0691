#!/usr/bin/env bash
# The ctest fixture `kafka_broker`: one real broker shared by the C++ tests that need
# Kafka (kafka_channel_test, the server's Kafka tests). `up DIR` starts it (stopping a
# leftover first) and writes its bootstrap address to DIR/bootstrap; `down DIR` stops it.
# Tests that start brokers of their own (the failure tests) keep them in DIR/own-*; both
# `up` and `down` stop and remove those, so a test process that died before its cleanup
# (a crash, a ctest timeout) leaves no broker running past the suite.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmd=$1 dir=$2
sweep_own() {
  local d
  for d in "$dir"/own-*; do
    [[ -d "$d" ]] || continue
    "$ROOT/scripts/kafka" down --dir "$d" >/dev/null 2>&1 || true
    rm -rf "$d"
  done
}
case "$cmd" in
  up)
    mkdir -p "$dir"
    sweep_own
    "$ROOT/scripts/kafka" down --dir "$dir" >/dev/null 2>&1 || true
    rm -f "$dir/bootstrap"
    out=$("$ROOT/scripts/kafka" up --dir "$dir")
    last=$(tail -1 <<<"$out")
    [[ "$last" == bootstrap=* ]] || { echo "$out" >&2; exit 1; }
    echo "${last#bootstrap=}" >"$dir/bootstrap"
    echo "kafka fixture: ${last}"
    ;;
  down)
    sweep_own
    "$ROOT/scripts/kafka" down --dir "$dir"
    ;;
  *)
    echo "usage: $0 up|down DIR" >&2
    exit 2
    ;;
esac
