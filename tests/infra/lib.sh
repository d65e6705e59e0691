# Helpers of the infra tests (sourced). They run from any directory, as root or not.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/eragon-infra-test.XXXXXX")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

expect_eq() {
  [[ "$1" == "$2" ]] || fail "$3: got '$1', want '$2'"
}

# The value of the last line of OUTPUT when it reads KEY=VALUE; fails otherwise.
last_value() {
  local key=$1 output=$2 last
  last=$(tail -1 <<<"$output")
  [[ "$last" == "$key="* ]] || fail "last line is not $key=...: '$last'"
  echo "${last#"$key"=}"
}

# True while PID runs (zombies excluded).
running() {
  [[ -r "/proc/$1/stat" ]] && ! sed 's/^.*) //' "/proc/$1/stat" | grep -q '^[ZX]'
}

# Kafka tests: KAFKA, DIR and a trap that, when the test failed, shows the last LINES of
# each broker's log, then stops the brokers (kill -9 of any left) and removes WORK.
kafka_test_setup() {
  KAFKA="$ROOT/scripts/kafka"
  DIR="$WORK/kafka"
  KAFKA_LOG_LINES=$1
  trap kafka_test_cleanup EXIT
}

kafka_test_cleanup() {
  local status=$?
  set +e
  if ((status != 0)); then tail -n "$KAFKA_LOG_LINES" "$DIR"/broker-*/server.log >&2 2>/dev/null || true; fi
  "$KAFKA" down --dir "$DIR" >/dev/null 2>&1 || true
  for f in "$DIR"/broker-*/pid; do [[ -f "$f" ]] && kill -KILL "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$WORK"
}
