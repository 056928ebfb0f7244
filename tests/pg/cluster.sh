#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: a new temp dir, a random free port on
# 127.0.0.1, trust auth for user `stark`, durability off (fsync, full_page_writes).
#
#   eval "$(tests/pg/cluster.sh start)"   # exports STARK_TEST_PG and STARK_TEST_PG_DIR
#   tests/pg/cluster.sh stop              # stops the cluster of STARK_TEST_PG_DIR, removes the dir
#   tests/pg/cluster.sh bin               # prints the server's bin dir (exit 1 if there is none)
#
# The server is the newest /usr/lib/postgresql/*/bin (Debian's `postgresql` package). As root,
# initdb and pg_ctl run as user `postgres` (initdb refuses root); as anyone else, directly.
# Only the eval lines go to stdout; progress and errors go to stderr.
set -euo pipefail

me=${0##*/}

die() {
  echo "$me: error: $*" >&2
  exit 1
}

pg_bin() {
  local dirs=() d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && dirs+=("$d")
  done
  if [ ${#dirs[@]} -eq 0 ]; then
    echo "$me: error: no PostgreSQL server binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/*/bin; install them with: apt-get install postgresql" >&2
    return 1
  fi
  printf '%s\n' "${dirs[@]}" | sort -V | tail -1
}

# Runs a server binary as the user that may run it: `postgres` when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    # No python: a random high port nobody answers on (pg_ctl start retries on a clash).
    local p
    while :; do
      p=$((20000 + RANDOM % 40000))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "$p"
        return
      fi
    done
  fi
}

now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}

start() {
  local bin dir port t0 attempt
  t0=$(now)
  bin=$(pg_bin) || exit 1
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || die "running as root, but there is no user 'postgres' to run initdb and pg_ctl as (initdb refuses root); install Debian's postgresql package, or run as another user"
    command -v runuser >/dev/null 2>&1 || die "running as root, but runuser (util-linux) is missing: it runs initdb and pg_ctl as user 'postgres'"
    # /tmp, not $TMPDIR: user postgres must be able to reach the directory.
    dir=$(mktemp -d /tmp/stark-pg.XXXXXX)
    chown postgres: "$dir"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/stark-pg.XXXXXX")
  fi
  chmod 700 "$dir"
  # stop removes only directories that carry this mark.
  as_pg touch "$dir/stark-test-cluster"

  if ! as_pg "$bin/initdb" -D "$dir/data" -U stark --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    die "initdb failed (output above)"
  fi

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off -c full_page_writes=off -c synchronous_commit=on -c max_connections=300" \
      start >/dev/null 2>"$dir/pg_ctl.log"; then
      break
    fi
    if [ "$attempt" -lt 5 ] && grep -q 'could not bind\|already in use' "$dir/server.log" 2>/dev/null; then
      continue # someone took the port between our check and the bind
    fi
    cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
    rm -rf "$dir"
    die "pg_ctl start failed on port $port (output above)"
  done

  local version elapsed
  version=$("$bin/postgres" --version | awk '{print $3}')
  elapsed=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  echo "$me: PostgreSQL $version on 127.0.0.1:$port ($dir), started in ${elapsed} s" >&2
  printf "export STARK_TEST_PG='postgres://stark@127.0.0.1:%s/postgres?sslmode=disable'\n" "$port"
  printf "export STARK_TEST_PG_DIR='%s'\n" "$dir"
}

stop() {
  local dir=${STARK_TEST_PG_DIR:-}
  [ -n "$dir" ] || die "STARK_TEST_PG_DIR is not set (it names the cluster that 'start' made)"
  [ -d "$dir" ] || die "STARK_TEST_PG_DIR=$dir: no such directory"
  [ -e "$dir/stark-test-cluster" ] || die "STARK_TEST_PG_DIR=$dir was not made by '$me start'; not removing it"
  local bin
  if [ -f "$dir/data/postmaster.pid" ]; then
    if bin=$(pg_bin); then
      # Already gone (a Ctrl-C reached it, say) is fine: the directory goes anyway.
      as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    else
      echo "$me: warning: no pg_ctl to stop the server of $dir" >&2
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  bin) pg_bin ;;
  *)
    echo "usage: $me start | stop | bin" >&2
    exit 2
    ;;
esac
