#!/usr/bin/env bash
# The ctest fixture `kafka_broker`: one real broker shared by the C++ tests that need
# Kafka (kafka_channel_test, the server's Kafka tests). `up DIR` starts it (stopping a
# leftover first) and writes its bootstrap address to DIR/bootstrap; `down DIR` stops it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmd=$1 dir=$2
case "$cmd" in
  up)
    "$ROOT/scripts/kafka" down --dir "$dir" >/dev/null 2>&1 || true
    rm -f "$dir/bootstrap"
    out=$("$ROOT/scripts/kafka" up --dir "$dir")
    last=$(tail -1 <<<"$out")
    [[ "$last" == bootstrap=* ]] || { echo "$out" >&2; exit 1; }
    echo "${last#bootstrap=}" >"$dir/bootstrap"
    echo "kafka fixture: ${last}"
    ;;
  down)
    "$ROOT/scripts/kafka" down --dir "$dir"
    ;;
  *)
    echo "usage: $0 up|down DIR" >&2
    exit 2
    ;;
esac
