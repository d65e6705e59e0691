# Shared helpers of scripts/kafka and scripts/postgres (sourced, not run).

die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range
# (so outgoing connections do not take it meanwhile) and not among the arguments.
# Free now, not reserved: the caller detects a lost race when its server fails to bind.
free_port() {
  local port taken
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    for taken in "$@"; do [[ "$port" == "$taken" ]] && continue 2; done
    # A refused connection means no listener; bash's /dev/tcp needs no other tool.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

# Absolute path of a directory, created if missing (its parents too).
abs_dir() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}

# True when PID runs (a zombie does not count: a container's init may not reap it) and,
# given MARK, its command line contains MARK (so a reused pid is not mistaken for ours).
is_alive() {
  local pid=$1 mark=${2:-} state
  [[ -n "$pid" && -r "/proc/$pid/stat" ]] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
  [[ -z "$mark" ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark"
}

# Waits up to SECONDS for every PID to exit; false when one is still alive.
wait_gone() {
  local seconds=$1 pid left
  shift
  for _ in $(seq $((seconds * 10 + 1))); do
    left=0
    for pid in "$@"; do is_alive "$pid" && left=1; done
    ((left)) || return 0
    sleep 0.1
  done
  return 1
}

# Sends SIGTERM to each PID, waits up to SECONDS for all of them to exit, then SIGKILLs
# whatever is left. The caller passes only pids it checked with is_alive.
stop_pids() {
  local seconds=$1 pid
  shift
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait_gone "$seconds" "$@" && return 0
  for pid in "$@"; do
    if is_alive "$pid"; then
      echo "${0##*/}: pid $pid ignored SIGTERM for ${seconds}s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait_gone 5 "$@" || die "pids $* still alive after SIGKILL"
}
