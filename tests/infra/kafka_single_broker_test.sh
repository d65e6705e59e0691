#!/usr/bin/env bash
# scripts/kafka with one broker: `up` prints a bootstrap that serves produce and consume,
# kill-broker (kill -9) and start-broker keep every acknowledged record and the port,
# `down` leaves no process and removes the folder it created.
source "$(dirname "$0")/lib.sh"
kafka_test_setup 40

consume() {
  kcat -C -b "$BOOTSTRAP" -t orders -o beginning -e -q -f '%k=%s\n' -m 10 | sort
}

start=$SECONDS
BOOTSTRAP=$(last_value bootstrap "$("$KAFKA" up --dir "$DIR")")
echo "up took $((SECONDS - start)) s: $BOOTSTRAP"
[[ "$BOOTSTRAP" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "bootstrap is not one loopback address: $BOOTSTRAP"

"$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --create --topic orders --partitions 2 \
  --replication-factor 1 >/dev/null
seq 1 50 | sed 's/.*/order-&:v&/' |
  kcat -P -b "$BOOTSTRAP" -t orders -K: -X acks=all -X partitioner=murmur2_random
want=$(seq 1 50 | sed 's/.*/order-&=v&/' | sort)
expect_eq "$(consume)" "$want" "records read back"

# Topics are created on purpose only: producing to an unknown topic does not create it.
echo x | kcat -P -b "$BOOTSTRAP" -t not-created -X message.timeout.ms=2000 2>/dev/null || true
"$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --list | grep -qx not-created &&
  fail "auto.create.topics.enable is on"

pid=$(cat "$DIR/broker-1/pid")
"$KAFKA" kill-broker 1 --dir "$DIR"
running "$pid" && fail "broker 1 (pid $pid) still runs after kill-broker"
kcat -L -b "$BOOTSTRAP" -m 1 >/dev/null 2>&1 && fail "a killed broker answered"

start=$SECONDS
again=$(last_value bootstrap "$("$KAFKA" start-broker 1 --dir "$DIR")")
echo "start-broker took $((SECONDS - start)) s"
expect_eq "$again" "$BOOTSTRAP" "bootstrap after the restart"
expect_eq "$(consume)" "$want" "records after kill -9 and restart"

pid=$(cat "$DIR/broker-1/pid")
"$KAFKA" down --dir "$DIR"
running "$pid" && fail "broker 1 (pid $pid) still runs after down"
[[ ! -e "$DIR" ]] || fail "down left $DIR behind"
echo "PASS"
