#!/usr/bin/env bash
# The local stack: moto (DynamoDB, S3) on 127.0.0.1 and every function under `cargo lambda watch`.
#
#   scripts/stack.sh up      start both, provision the table and bucket, wait until served,
#                            and pump the table's stream and sweeps to the recording copier
#                            and the spool to the spool replayer
#                            (and `callvault console` on CONSOLE_PORT, when set)
#   scripts/stack.sh down    stop both
#   scripts/stack.sh e2e     up, run the end-to-end tests, down (whatever happens)
#   scripts/stack.sh test    up, run every test of the workspace, down (whatever happens)
#   scripts/stack.sh run CMD...  up, run CMD with the stack's environment, down (whatever happens)
#
# Ports: MOTO_PORT (default 4566), LAMBDA_PORT (default 9000). STACK_RELOAD=0 serves the
# functions as built when the stack starts (e2e, test and run always do). Logs and pid files go to
# STACK_DIR (default /tmp/callvault-stack-$MOTO_PORT), outside the tree that cargo lambda
# watch rebuilds on.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.venv"
MOTO_PORT=${MOTO_PORT:-4566}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
STACK_DIR=${STACK_DIR:-${TMPDIR:-/tmp}/callvault-stack-$MOTO_PORT}
READY_TIMEOUT=${READY_TIMEOUT:-900}

set -a
# shellcheck source=/dev/null
. "$ROOT/dev.env"
set +a
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export PATH="$VENV/bin:$PATH"
export CALLVAULT_FUNCTIONS_URL="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
export CALLVAULT_FUNCTION_LOG="$STACK_DIR/watch.log"
INVOKE_BASE="http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions"

log() { printf '[stack] %s\n' "$*" >&2; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 deadline=$((SECONDS + 60))
  until port_busy "$port"; do
    ((SECONDS < deadline)) || { log "nothing listens on port $port after 60 s"; return 1; }
    sleep 0.2
  done
}

# Waits until a function answers with the status its own handler gives a GET (405 or 501 for
# webhooks, 200 for the query API's index),
# which only happens once cargo lambda watch has built and started it.
wait_function() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT)) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 "$CALLVAULT_FUNCTIONS_URL/$name/" || true)
    case "$code" in 200|405|501) return 0 ;; esac
    ((SECONDS < deadline)) || { log "$name not served after ${READY_TIMEOUT}s (last status $code); see $STACK_DIR/watch.log"; return 1; }
    sleep 1
  done
}

# Invokes an event-driven function (the copier, the spool replayer) once with an empty batch
# so it is built and running before the pump feeds it.
wait_invoked() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT)) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -X POST -d '{"Records":[]}' \
      "$INVOKE_BASE/$name/invocations" || true)
    [[ $code == 200 ]] && return 0
    ((SECONDS < deadline)) || { log "$name not running after ${READY_TIMEOUT}s; see $STACK_DIR/watch.log"; return 1; }
    sleep 1
  done
}

stop_pidfile() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  # Each service runs in its own process group: stop the group (watch spawns the functions).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$file"
}

down() {
  stop_pidfile "$STACK_DIR/console.pid"
  stop_pidfile "$STACK_DIR/pump.pid"
  stop_pidfile "$STACK_DIR/watch.pid"
  stop_pidfile "$STACK_DIR/moto.pid"
}

up() {
  [[ -x $VENV/bin/moto_server && -x $VENV/bin/cargo-lambda ]] || { log "no venv: run 'make venv'"; exit 1; }
  for port in "$MOTO_PORT" "$LAMBDA_PORT"; do
    if port_busy "$port"; then log "port $port is in use (another 'make dev'?); set MOTO_PORT/LAMBDA_PORT"; exit 1; fi
  done
  mkdir -p "$STACK_DIR"
  log "logs in $STACK_DIR"
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$STACK_DIR/moto.log" 2>&1 &
  echo $! >"$STACK_DIR/moto.pid"
  wait_port "$MOTO_PORT"
  log "emulator on $AWS_ENDPOINT_URL"
  log "building the functions (the first build takes several minutes)"
  cargo build --bins --workspace
  target/debug/callvault-devstack provision
  # The webhook functions, from the one list of them, and the query API.
  local functions
  mapfile -t functions < <(target/debug/callvault-devstack functions)
  functions+=(query-api)
  # `make dev` rebuilds a function when the code changes; test runs (STACK_RELOAD=0) serve the
  # code as it was when they started, whatever is edited meanwhile.
  local reload=()
  [[ ${STACK_RELOAD:-1} == 1 ]] || reload=(--ignore-changes)
  setsid cargo lambda watch "${reload[@]}" --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
      >"$STACK_DIR/watch.log" 2>&1 &
  echo $! >"$STACK_DIR/watch.pid"
  for f in "${functions[@]}"; do wait_function "$f"; done
  wait_invoked recording-copier
  wait_invoked spool-replayer
  setsid target/debug/callvault-devstack pump --invoke-base "$INVOKE_BASE" \
    >"$STACK_DIR/pump.log" 2>&1 &
  echo $! >"$STACK_DIR/pump.pid"
  log "functions served on $CALLVAULT_FUNCTIONS_URL/<name>/; pump feeding recording-copier (stream, sweeps) and spool-replayer (spool)"
  if [[ -n ${CONSOLE_PORT:-} ]]; then
    if port_busy "$CONSOLE_PORT"; then log "port $CONSOLE_PORT is in use: no console (set CONSOLE_PORT)"; return; fi
    MOTO_PORT=$MOTO_PORT LAMBDA_PORT=$LAMBDA_PORT setsid target/debug/callvault --stack local \
      console --port "$CONSOLE_PORT" >"$STACK_DIR/console.log" 2>&1 &
    echo $! >"$STACK_DIR/console.pid"
    wait_port "$CONSOLE_PORT"
    log "console on http://127.0.0.1:$CONSOLE_PORT/"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  e2e | test)
    trap down EXIT
    STACK_RELOAD=0 up
    if [[ $1 == e2e ]]; then scope=(-p callvault-e2e); else scope=(--workspace); fi
    cargo test "${scope[@]}" -- --test-threads 4
    ;;
  run)
    shift
    trap down EXIT
    STACK_RELOAD=0 up
    "$@"
    ;;
  *) echo "usage: $0 up|down|e2e|test|run CMD..." >&2; exit 2 ;;
esac
