#!/usr/bin/env bash
# scripts/postgres: `up` prints a url that psql logs in with (and a wrong password does
# not), on 127.0.0.1; stop/start keeps the data and the url; `down` stops the server and
# removes what up created.
source "$(dirname "$0")/lib.sh"
PG="$ROOT/scripts/postgres"
DIR="$WORK/postgres"

cleanup() {
  local status=$?
  set +e
  if ((status != 0)); then
    (source "$DIR/postgres.env" && tail -n 30 "$RUN/postgres.log") >&2 2>/dev/null
  fi
  "$PG" down --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start=$SECONDS
URL=$(last_value url "$("$PG" up --dir "$DIR")")
echo "up took $((SECONDS - start)) s"
[[ "$URL" =~ ^postgresql://eragon:[0-9a-f]+@127\.0\.0\.1:[0-9]+/eragon$ ]] || fail "url: $URL"

psql "$URL" -Xq -v ON_ERROR_STOP=1 -c 'CREATE TABLE routes (name text PRIMARY KEY)' \
  -c "INSERT INTO routes VALUES ('orders')"
expect_eq "$(psql "$URL" -XAtc 'SELECT name FROM routes')" orders "row read back"
expect_eq "$(psql "$URL" -XAtc 'SELECT inet_server_addr()')" 127.0.0.1 "server address"
wrong=$(sed 's/eragon:[0-9a-f]*@/eragon:wrong@/' <<<"$URL")
psql "$wrong" -XAtc 'SELECT 1' >/dev/null 2>&1 && fail "a wrong password logged in"

"$PG" stop --dir "$DIR"
psql "$URL" -XAtc 'SELECT 1' >/dev/null 2>&1 && fail "the server answers after stop"
expect_eq "$(last_value url "$("$PG" start --dir "$DIR")")" "$URL" "url after start"
expect_eq "$(psql "$URL" -XAtc 'SELECT name FROM routes')" orders "row after stop/start"

pid=$(source "$DIR/postgres.env" && head -1 "$RUN/data/postmaster.pid")
running "$pid" || fail "no postmaster at pid $pid"
"$PG" down --dir "$DIR"
psql "$URL" -XAtc 'SELECT 1' >/dev/null 2>&1 && fail "the server answers after down"
running "$pid" && fail "pid $pid (the postmaster) still runs after down"
[[ ! -e "$DIR" ]] || fail "down left $DIR behind"
echo "PASS"
