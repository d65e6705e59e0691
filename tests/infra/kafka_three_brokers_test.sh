#!/usr/bin/env bash
# scripts/kafka with three brokers: `up` prints three loopback addresses that form one
# cluster; with broker 2 killed (kill -9) producing with acks=all still succeeds; after
# start-broker 2 the broker rejoins on its port and storage and catches up (no partition
# stays under-replicated), and no record is lost; `down` stops all three.
source "$(dirname "$0")/lib.sh"
kafka_test_setup 20

produce() { # FIRST LAST
  seq "$1" "$2" | sed 's/.*/entity-&:v&/' |
    kcat -P -b "$BOOTSTRAP" -t payments -K: -X acks=all -X partitioner=murmur2_random \
      -X message.timeout.ms=30000 2>>"$WORK/kcat.log" || { cat "$WORK/kcat.log" >&2; return 1; }
}
under_replicated() {
  "$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --describe --topic payments \
    --under-replicated-partitions
}

start=$SECONDS
BOOTSTRAP=$(last_value bootstrap "$("$KAFKA" up --brokers 3 --dir "$DIR")")
echo "up --brokers 3 took $((SECONDS - start)) s: $BOOTSTRAP"
[[ "$BOOTSTRAP" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] ||
  fail "bootstrap is not three loopback addresses: $BOOTSTRAP"
expect_eq "$(kcat -L -b "$BOOTSTRAP" | grep -c '^  broker [123] at 127.0.0.1:')" 3 "brokers in metadata"

"$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --create --topic payments --partitions 3 \
  --replication-factor 3 >/dev/null
produce 1 100

pid=$(cat "$DIR/broker-2/pid")
"$KAFKA" kill-broker 2 --dir "$DIR"
running "$pid" && fail "broker 2 (pid $pid) still runs after kill-broker"
produce 101 200 # min.insync.replicas=2: two live replicas accept acks=all

"$KAFKA" start-broker 2 --dir "$DIR" >/dev/null
for _ in $(seq 60); do
  [[ -z "$(under_replicated)" ]] && break
  sleep 1
done
[[ -z "$(under_replicated)" ]] || fail "broker 2 did not catch up: $(under_replicated)"

got=$(kcat -C -b "$BOOTSTRAP" -t payments -o beginning -e -q -f '%k=%s\n' | sort)
expect_eq "$got" "$(seq 1 200 | sed 's/.*/entity-&=v&/' | sort)" "records after the broker restart"

pids=$(cat "$DIR"/broker-*/pid)
"$KAFKA" down --dir "$DIR"
for pid in $pids; do running "$pid" && fail "pid $pid still runs after down"; done
echo "PASS"
