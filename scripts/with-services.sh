#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL cluster and Redis server on loopback, exported as
# DATABASE_URL and REDIS_URL; both are stopped and removed afterwards.
# Without the server binaries: in CI (CI=true) this fails; elsewhere it says so and skips.
set -uo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
redis=$(command -v redis-server || true)
if [ -z "$pgbin" ] || [ -z "$redis" ]; then
  echo "Skipped the PostgreSQL + Redis pass: install postgresql and redis-server to run it." >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
redis_port=$(free_port)
workdir=$(mktemp -d /tmp/sspr-services.XXXXXX)
chmod 755 "$workdir"
as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ]; then chown postgres "$workdir"; fi

cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$workdir/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$workdir/redis.pid" ] && kill "$(cat "$workdir/redis.pid")" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

echo "Starting PostgreSQL on 127.0.0.1:$pg_port and Redis on 127.0.0.1:$redis_port…" >&2
as_pg "$pgbin/initdb" -D "$workdir/pg" -U sspr -A trust -E UTF8 --no-sync >"$workdir/initdb.log" 2>&1 \
  || { cat "$workdir/initdb.log" >&2; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$workdir/pg" -l "$workdir/pg.log" -w -o \
  "-p $pg_port -k $workdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$workdir/pg.log" >&2; exit 1; }
as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U sspr sspr || exit 1
"$redis" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$workdir/redis.pid" --logfile "$workdir/redis.log" || exit 1

export DATABASE_URL="postgres://sspr@127.0.0.1:$pg_port/sspr"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
"$@"
