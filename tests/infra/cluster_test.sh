#!/usr/bin/env bash
# scripts/cluster: `up --nodes 2 --brokers 1` prints a line per node, then bootstrap,
# postgres and admin_token; each node answers GET /v1/cluster with that token, listing
# both; kill-node / start-node bring a node back on its port; `down` leaves no process
# behind and removes what up created.
source "$(dirname "$0")/lib.sh"
CLUSTER="$ROOT/scripts/cluster"
DIR="$WORK/cluster"

cleanup() {
  local status=$?
  set +e
  if ((status != 0)); then tail -n 30 "$DIR"/node-*.log >&2 2>/dev/null; fi
  "$CLUSTER" down --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# GET /v1/cluster on URL with TOKEN: "STATUS NODES" (NODES: how many it lists).
cluster_of() {
  local body status
  body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $2" "$1/v1/cluster")
  status=$(tail -1 <<<"$body")
  echo "$status $(head -n -1 <<<"$body" | grep -o '"address"' | wc -l)"
}

start=$SECONDS
out=$("$CLUSTER" up --nodes 2 --brokers 1 --dir "$DIR")
echo "up took $((SECONDS - start)) s"
echo "$out"
mapfile -t lines <<<"$out"
expect_eq "${#lines[@]}" 5 "line count"
urls=() pids=()
for i in 0 1; do
  re="^node=(http://127\.0\.0\.1:[0-9]+) pid=([0-9]+) data_dir=$DIR/node-$((i + 1))$"
  [[ "${lines[$i]}" =~ $re ]] || fail "node line: ${lines[$i]}"
  urls+=("${BASH_REMATCH[1]}")
  pids+=("${BASH_REMATCH[2]}")
  running "${pids[-1]}" || fail "pid ${pids[-1]} does not run"
done
[[ "${lines[2]}" =~ ^bootstrap=127\.0\.0\.1:[0-9]+$ ]] || fail "bootstrap line: ${lines[2]}"
[[ "${lines[3]}" =~ ^postgres=postgresql://eragon:[0-9a-f]+@127\.0\.0\.1:[0-9]+/eragon$ ]] ||
  fail "postgres line: ${lines[3]}"
[[ "${lines[4]}" =~ ^admin_token=(ert_[0-9a-f]{64})$ ]] || fail "admin_token line: ${lines[4]}"
token=${BASH_REMATCH[1]}

# Heartbeats every second: both nodes list both within a few seconds.
for url in "${urls[@]}"; do
  for _ in $(seq 100); do
    [[ "$(cluster_of "$url" "$token")" == "200 2" ]] && break
    sleep 0.1
  done
  expect_eq "$(cluster_of "$url" "$token")" "200 2" "GET /v1/cluster on $url"
done
expect_eq "$(cluster_of "${urls[0]}" "")" "401 0" "GET /v1/cluster without a token"

# kill -9 of node 2, then start-node: the same port and data dir.
"$CLUSTER" kill-node 2 --dir "$DIR"
for _ in $(seq 50); do running "${pids[1]}" || break; sleep 0.1; done
running "${pids[1]}" && fail "node 2 survived kill-node"
line=$("$CLUSTER" start-node 2 --dir "$DIR")
[[ "$line" == "node=${urls[1]} pid="*" data_dir=$DIR/node-2" ]] || fail "start-node: $line"
expect_eq "$(cluster_of "${urls[1]}" "$token" | cut -d' ' -f1)" 200 "node 2 after start-node"
pids[1]=$(sed 's/.* pid=\([0-9]*\) .*/\1/' <<<"$line")

"$CLUSTER" down --dir "$DIR"
for pid in "${pids[@]}"; do running "$pid" && fail "node pid $pid still runs after down"; done
left=$(pgrep -f -- "$DIR" || true)
[[ -z "$left" ]] || fail "processes left after down: $(ps -o pid,cmd -p "${left//$'\n'/,}")"
[[ ! -e "$DIR" ]] || fail "down left $DIR behind"
echo "PASS"
