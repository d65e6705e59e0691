#!/usr/bin/env bash
# The ctest fixture `postgres`: one throwaway PostgreSQL (scripts/postgres, --no-fsync)
# shared by the C++ tests that need it (config_pg_test, postgres_integration_test). `up
# DIR` starts it (removing a leftover first) and writes its URL to DIR/url; `down DIR`
# stops it and removes its data.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmd=$1 dir=$2
case "$cmd" in
  up)
    mkdir -p "$dir"
    "$ROOT/scripts/postgres" down --dir "$dir" >/dev/null 2>&1 || true
    rm -f "$dir/url"
    out=$("$ROOT/scripts/postgres" up --dir "$dir" --no-fsync)
    last=$(tail -1 <<<"$out")
    [[ "$last" == url=* ]] || { echo "$out" >&2; exit 1; }
    echo "${last#url=}" >"$dir/url"
    chmod 600 "$dir/url"
    echo "postgres fixture: up in $dir"
    ;;
  down)
    "$ROOT/scripts/postgres" down --dir "$dir"
    rm -f "$dir/url"
    ;;
  *)
    echo "usage: $0 up|down DIR" >&2
    exit 2
    ;;
esac
