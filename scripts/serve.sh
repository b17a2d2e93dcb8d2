#!/usr/bin/env bash
# `make serve`: check, migrate, collect static files, then gunicorn (and the message worker when
# Redis is configured). Without REDIS_URL one web worker runs and messages are sent in process.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
shared="${REDIS_URL:-}${CACHE_URL:-}"
export WEB_CONCURRENCY="${WORKERS:-$([ -n "$shared" ] && echo 3 || echo 1)}"

"$bin/python" manage.py check --deploy --fail-level WARNING
"$bin/python" manage.py migrate --noinput
"$bin/python" manage.py collectstatic --noinput -v 0

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait; }
trap stop EXIT INT TERM
if [ -n "${REDIS_URL:-}" ]; then
  "$bin/python" manage.py rqworker --with-scheduler sspr &
  pids+=($!)
fi
"$bin/gunicorn" -c sspr_site/gunicorn.conf.py --bind "${HOST:-127.0.0.1}:${PORT:-8000}" \
  --workers "$WEB_CONCURRENCY" &
pids+=($!)
wait -n "${pids[@]}"
